import inspect
import re

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer

PATH_PARAMETER = re.compile(r"{(\w+)}")


class PathAutoSchema(AutoSchema):
    """Operation ids from the path, so one view serving several paths gets one id per path.

    Descriptions come from `extend_schema(description=...)`, from the view's `path_docs` (below),
    or from the concrete view's and method's own docstrings, never a base class's: drf-spectacular
    falls back along the MRO, and the base views' docstrings are notes for developers, not API
    users. A view serving several paths may set `path_docs`: its first path parameter's name (None
    for a path without one) to `(summary, description)`, so each path gets its own."""

    def _is_list_view(self, serializer=None) -> bool:
        """A response is a list when it is declared one (`many=True`), nothing else: DRF's
        `list` action of a router answers an object in every dialect (`{"devices": {...}}`), and
        drf-spectacular would otherwise wrap it in an array."""
        if serializer is None:
            serializer = self.get_response_serializers()
        if isinstance(serializer, dict) and serializer:
            serializer = {str(code): s for code, s in serializer.items()}
            serializer = serializer[min(serializer)]
        return is_list_serializer(serializer)

    def get_filter_backends(self) -> list:
        """Every action with a FilterSet has its parameters documented (the FilterSet is their
        one declaration), list or not: `/v1/devices/{uid}` takes `uids` and `protocol` too."""
        if getattr(self.view, "filterset_class", None) is None:
            return []
        return getattr(self.view, "filter_backends", [])

    def get_operation_id(self) -> str:
        path = re.sub(r"[{}]", "", self.path).strip("/").replace("/", "_").replace("-", "_")
        return f"{path}_{self.method.lower()}"

    def get_summary(self) -> str | None:
        docs = self._path_docs()
        return docs[0] if docs else super().get_summary()

    def get_description(self) -> str:
        docs = self._path_docs()
        if docs:
            return docs[1]
        view_class = type(self.view)
        method = view_class.__dict__.get(getattr(self.view, "action", None) or self.method.lower())
        own = getattr(method, "__doc__", None) or view_class.__dict__.get("__doc__")
        return inspect.cleandoc(own) if own else ""

    def _path_docs(self) -> tuple[str, str] | None:
        path_docs = getattr(self.view, "path_docs", None)
        if not path_docs:
            return None
        parameters = PATH_PARAMETER.findall(self.path)
        return path_docs[parameters[0] if parameters else None]


def security_scheme(*, target: str, name: str, definition: dict) -> type[OpenApiAuthenticationExtension]:
    """Declare how the authentication class at dotted path `target` appears in the schema (as the
    security scheme `name`). drf-spectacular registers the class on creation."""
    return type(
        f"{name[0].upper()}{name[1:]}Scheme",
        (OpenApiAuthenticationExtension,),
        {
            "target_class": target,
            "name": name,
            "get_security_definition": lambda self, auto_schema: definition,
        },
    )


def bearer_jwt(description: str) -> dict:
    return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": description}


class ParameterFilterExtension(DjangoFilterExtension):
    """django-filter's extension for the dialects' FilterSets, which also keeps the parameter's
    `help_text` as its description when the filter's type is declared (`extend_schema_field`):
    drf-spectacular drops the description then."""

    target_class = "apps.api.common.filters.ParameterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        help_text = filter_field.extra.get("help_text")
        if not help_text:
            return parameters
        described = []
        for parameter in parameters:
            ordered = {}
            for key, value in parameter.items():
                if key != "description":
                    ordered[key] = value
                if key == "schema":
                    ordered["description"] = help_text
            described.append(ordered)
        return described
