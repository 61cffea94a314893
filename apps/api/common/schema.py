import inspect
import re

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type, build_parameter_type, is_list_serializer
from drf_spectacular.utils import OpenApiParameter

from .filters import ParameterFilter


class PathAutoSchema(AutoSchema):
    """Operation ids from the path, so one viewset serving several paths gets one id per path.

    Descriptions come from `extend_schema(description=...)` or from the concrete viewset's
    action's and class's own docstrings, never a base class's: drf-spectacular falls back along
    the MRO, and the base viewsets' docstrings are notes for developers, not API users."""

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

    def get_description(self) -> str:
        view_class = type(self.view)
        method = view_class.__dict__.get(getattr(self.view, "action", None) or self.method.lower())
        own = getattr(method, "__doc__", None) or view_class.__dict__.get("__doc__")
        return inspect.cleandoc(own) if own else ""


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
    """django-filter's extension for the dialects' FilterSets: a declared parameter (a
    ParameterFilter) is documented from its declaration alone, its type, `help_text`, `required`
    and choices, never guessed from a model field."""

    target_class = "apps.api.common.filters.ParameterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        if not isinstance(filter_field, ParameterFilter):
            return super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        choices = filter_field.extra.get("choices")
        return [
            build_parameter_type(
                name=field_name,
                schema=build_basic_type(filter_field.openapi_type),
                location=OpenApiParameter.QUERY,
                required=filter_field.extra["required"],
                description=filter_field.extra.get("help_text"),
                enum=[value for value, _ in choices] if choices else None,
            )
        ]
