"""Every path of the Blynk dialect (API.md §2). Identifiers travel in query parameters or the
JSON body, never in the path; any other /api/v1|v2/organization/ path is a 404 in the Blynk
error shape. The vendor's paths are fixed RPC-style names, not resources a router would derive,
so each is mapped to its viewset action here."""

from django.urls import path, re_path

from apps.api.common.views import EVERY_METHOD

from . import oauth, views

ORG = "api/v1/organization"


def route(pattern: str, method: str, action: str, name: str):
    viewset = views.DataStreamViewSet.as_view({method: action})
    return path(pattern, viewset, name=f"blynk-{name}")


urlpatterns = [
    path("oauth2/token", oauth.TokenViewSet.as_view({"post": "create"}), name="blynk-token"),
    route("api/v2/organization/device/datastreams", "get", "values", "datastreams"),
    route(f"{ORG}/device/datastreams/batch", "get", "batch_values", "datastreams-batch"),
    route(f"{ORG}/device/datastream/history", "get", "history", "history"),
    route(f"{ORG}/device/datastream", "post", "set_value", "value"),
    route(f"{ORG}/device/datastreams", "post", "set_values", "values"),
    route(f"{ORG}/product/devices/batch-update", "post", "batch_update", "batch-update"),
    route(f"{ORG}/device/import/batch", "post", "import_history", "import"),
    route(f"{ORG}/device/datastream/property", "post", "set_property", "property"),
    re_path(
        r"^api/v[12]/organization/", views.UnknownPathViewSet.as_view(EVERY_METHOD), name="blynk-unknown"
    ),
]
