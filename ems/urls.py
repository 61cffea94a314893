from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.observability.views import metrics

from . import views

admin.site.site_header = "EMS energy management"
admin.site.site_title = "EMS"
admin.site.index_title = "Overview"
# The admin is the site people use: its "View site" link and / lead to its index.
admin.site.site_url = reverse_lazy("admin:index")


def _moved(old: str, pattern_name: str):
    """A permanent redirect from a page's old address (bookmarks), with its query string."""
    return path(old, RedirectView.as_view(pattern_name=pattern_name, permanent=True, query_string=True))


# The admin's tools were pages of their own under admin/tools/; they are now pages of the admin of
# the model each serves (apps/imports/admin_samples.py, apps/inventory/admin_config.py,
# apps/timeseries/admin_samples.py) and their links are on the admin index.
TOOLS_MOVED = [
    _moved("admin/tools/", "admin:index"),
    _moved("admin/tools/import/", "admin:imports_importjob_import_csv"),
    _moved("admin/tools/jobs/<uuid:object_id>/", "admin:imports_importjob_progress"),
    _moved("admin/tools/jobs/<uuid:object_id>/status/", "admin:imports_importjob_status"),
    _moved("admin/tools/series/<int:object_id>/export/", "admin:timeseries_series_export"),
    _moved("admin/tools/series/<int:object_id>/delete-samples/", "admin:timeseries_series_delete_samples"),
    _moved("admin/tools/configuration/", "admin:inventory_device_import_csv"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    *TOOLS_MOVED,
    path("admin/analytics/", include("apps.console.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("apps.api.iotorq.urls")),
    path("", include("apps.api.blynk.urls")),
    path("", include("apps.api.buildingx.urls")),
    path("", include("apps.api.gavazzi.urls")),
]
