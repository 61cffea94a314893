"""The console's admin pages and their JSON, included by ems/urls.py under `admin/analytics/`
ahead of the admin's own URLs (as the tools pages are, apps/imports/admin_urls.py). Every view
goes through `admin.site.admin_view`: the admin's login, active staff only, no caching."""

from django.contrib import admin
from django.urls import path

from . import analysis, analytics, export_views

urlpatterns = [
    path("", admin.site.admin_view(analysis.analysis_view), name="ems-analysis"),
    path("series.json", admin.site.admin_view(analysis.series_search_view), name="ems-analysis-series"),
    path(
        "statistics.json",
        admin.site.admin_view(analytics.statistics_json_view),
        name="ems-analytics-statistics",
    ),
    path("export.csv", admin.site.admin_view(export_views.export_csv_view), name="ems-analytics-export-csv"),
    path(
        "export.xlsx", admin.site.admin_view(export_views.export_xlsx_view), name="ems-analytics-export-xlsx"
    ),
    path("export/", admin.site.admin_view(export_views.export_form_view), name="ems-analytics-export"),
]
