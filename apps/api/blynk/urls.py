"""Every path of the Blynk dialect (API.md §2). Identifiers travel in query parameters or the
JSON body, never in the path; any other /api/v1|v2/organization/ path is a 404 in the Blynk
error shape."""

from django.urls import path, re_path

from . import oauth, views

ORG = "api/v1/organization"


def route(pattern: str, view, name: str):
    return path(pattern, view.as_view(), name=f"blynk-{name}")


urlpatterns = [
    route("oauth2/token", oauth.TokenView, "token"),
    route("api/v2/organization/device/datastreams", views.DataStreamValuesView, "datastreams"),
    route(f"{ORG}/device/datastreams/batch", views.BatchDataStreamValuesView, "datastreams-batch"),
    route(f"{ORG}/device/datastream/history", views.HistoryView, "history"),
    route(f"{ORG}/device/datastream", views.DataStreamValueView, "value"),
    route(f"{ORG}/device/datastreams", views.DataStreamValuesUpdateView, "values"),
    route(f"{ORG}/product/devices/batch-update", views.ProductBatchUpdateView, "batch-update"),
    route(f"{ORG}/device/import/batch", views.HistoryImportView, "import"),
    route(f"{ORG}/device/datastream/property", views.PropertyView, "property"),
    re_path(r"^api/v[12]/organization/", views.UnknownPathView.as_view(), name="blynk-unknown"),
]
