"""Paths of the Siemens Building X dialect (API.md §3). The ids are taken as strings and checked
by the selector, so a malformed UUID is answered 404 in the JSON:API shape, like an unknown one;
the path parameters keep the vendor's names."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("oauth/token", views.TokenView.as_view(), name="buildingx-token"),
    path(
        "ingest/partitions/<str:partitionId>/points/<str:pointId>/values",
        views.PointValuesView.as_view(),
        name="buildingx-point-values",
    ),
    re_path(r"^ingest/", views.UnknownPathView.as_view(), name="buildingx-unknown"),
]
