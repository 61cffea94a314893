"""Paths of the Siemens Building X dialect (API.md §3). The ids are taken as strings and checked
by the selector, so a malformed UUID is answered 404 in the JSON:API shape, like an unknown one;
the path parameters keep the vendor's names. The values of a point are a collection a router
serves (GET list, POST create); the token endpoint and the catch-all are mapped by hand."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from apps.api.common.views import EVERY_METHOD

from . import views

router = SimpleRouter(trailing_slash=False)
router.register(
    r"ingest/partitions/(?P<partitionId>[^/]+)/points/(?P<pointId>[^/]+)/values",
    views.PointValuesViewSet,
    basename="buildingx-point-values",
)

urlpatterns = [
    path("oauth/token", views.TokenViewSet.as_view({"post": "create"}), name="buildingx-token"),
    *router.urls,
    re_path(r"^ingest/", views.UnknownPathViewSet.as_view(EVERY_METHOD), name="buildingx-unknown"),
]
