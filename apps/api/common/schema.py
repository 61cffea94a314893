import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class PathAutoSchema(AutoSchema):
    """Operation ids from the path, so one view serving several paths gets one id per path."""

    def get_operation_id(self) -> str:
        path = re.sub(r"[{}]", "", self.path).strip("/").replace("/", "_").replace("-", "_")
        return f"{path}_{self.method.lower()}"


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
