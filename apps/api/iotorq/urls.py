"""Paths of the ioTORQ EMIS dialect (API.md §1)."""

from django.urls import path

from . import views

urlpatterns = [
    path("ems/api/import/", views.ImportView.as_view(), name="iotorq-import"),
    path("ems/api/import", views.ImportAliasView.as_view(), name="iotorq-import-no-slash"),
    # A str, not a uuid converter: a malformed id gets the dialect's 404, not Django's.
    path("ems/api/import/<str:job_id>/", views.ImportJobView.as_view(), name="iotorq-import-job"),
]
