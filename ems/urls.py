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

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/tools/", include("apps.imports.admin_urls")),
    path("admin/analytics/", include("apps.console.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("apps.api.iotorq.urls")),
    path("", include("apps.api.blynk.urls")),
    path("", include("apps.api.buildingx.urls")),
    path("", include("apps.api.gavazzi.urls")),
]
