import re

from drf_spectacular.openapi import AutoSchema


class PathAutoSchema(AutoSchema):
    """Operation ids from the path, so one view serving several paths gets one id per path."""

    def get_operation_id(self) -> str:
        path = re.sub(r"[{}]", "", self.path).strip("/").replace("/", "_").replace("-", "_")
        return f"{path}_{self.method.lower()}"
