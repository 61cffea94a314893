"""Admin for series. Samples cannot be registered (composite primary key): a series' change page
shows its latest samples, read through the store's query module."""

from django.contrib import admin

from apps.tenancy.admin import OrganizationOwnedAdmin

from .models import Series, ms_to_datetime
from .query import samples_latest

LATEST_SAMPLES = 50


def _utc_ms(ts: int) -> str:
    return f"{ms_to_datetime(ts):%Y-%m-%d %H:%M:%S}.{ts % 1000:03d}"


@admin.register(Series)
class SeriesAdmin(OrganizationOwnedAdmin):
    list_display = ("name", "meter_code", "id", "organization", "unit", "last_value", "last_at", "created_at")
    list_select_related = ("organization",)
    search_fields = ("name", "meter_code", "=id", "organization__name", "organization__slug")
    list_filter = ("unit", "organization", "created_at")
    readonly_fields = ("id", "last_at", "last_value", "created_at")
    fields = ("id", "organization", "name", "meter_code", "unit", "last_at", "last_value", "created_at")

    @admin.display(description="latest sample", ordering="last_ts")
    def last_at(self, obj):
        return obj.last_at

    def change_view(self, request, object_id, form_url="", extra_context=None):
        series = self.get_object(request, object_id)
        if series is not None and self.has_view_or_change_permission(request, series):
            extra_context = {
                **(extra_context or {}),
                "latest_samples": [
                    {"at": _utc_ms(row.ts), "ts": row.ts, "value": row.value, "quality": row.quality}
                    for row in samples_latest(series_id=series.pk, limit=LATEST_SAMPLES)
                ],
                "latest_samples_limit": LATEST_SAMPLES,
            }
        return super().change_view(request, object_id, form_url, extra_context)
