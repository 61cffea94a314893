"""The admin's tools pages (admin_views.py), included by ems/urls.py under `admin/tools/` ahead of
the admin's own URLs. Every view goes through `admin.site.admin_view`: the admin's login, staff
only, no caching."""

from django.contrib import admin
from django.urls import path

from . import admin_views as views

urlpatterns = [
    path("", admin.site.admin_view(views.tools_index_view), name="ems-tools-index"),
    path("import/", admin.site.admin_view(views.samples_import_view), name="ems-tools-import"),
    path("jobs/<uuid:job_id>/", admin.site.admin_view(views.job_view), name="ems-tools-job"),
    path(
        "jobs/<uuid:job_id>/status/",
        admin.site.admin_view(views.job_status_view),
        name="ems-tools-job-status",
    ),
    path(
        "series/<int:series_id>/export/",
        admin.site.admin_view(views.series_export_view),
        name="ems-tools-series-export",
    ),
    path(
        "series/<int:series_id>/delete-samples/",
        admin.site.admin_view(views.series_delete_samples_view),
        name="ems-tools-series-delete",
    ),
    path("configuration/", admin.site.admin_view(views.config_import_view), name="ems-tools-config"),
]
