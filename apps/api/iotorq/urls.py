"""Paths of the ioTORQ EMIS dialect (API.md §1): `ems/api/import/` (POST) and
`ems/api/import/{job_id}/` (GET) from a router, and the vendor's slash-less import path."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("ems/api/import", views.ImportViewSet, basename="iotorq-import")

urlpatterns = [
    *router.urls,
    path(
        "ems/api/import",
        views.ImportAliasViewSet.as_view({"post": "create"}),
        name="iotorq-import-no-slash",
    ),
]
