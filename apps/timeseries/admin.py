"""Admin for series, and the chart every admin of an object with a series shares.

Samples cannot be registered (composite primary key): a series' change page shows its chart,
its daily and monthly totals and its latest samples, read through the store's query module, and
links its samples' CSV export and range deletion (admin_samples.py, URLs of SeriesAdmin).
"""

import re
from datetime import date
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core.exceptions import Invalid
from apps.core.time import now_ms
from apps.tenancy.admin_scoping import OrganizationOwnedAdmin, OrganizationOwnedForm

from .admin_samples import SeriesSamplesAdminMixin
from .calendar_totals import calendar_totals
from .charts import MAX_POINTS, chart_range, series_chart
from .models import KNOWN_UNITS, Sample, Series, SeriesKind, VirtualSource, ms_label, ms_to_datetime
from .query import samples_latest
from .selectors import series_current, series_zone
from .stats.basis import STATISTICS_FIELDS, series_statistics_refresh
from .stats.virtual import virtual_sources_check

LATEST_SAMPLES = 50


def _json_error(status: int, message: str, field: str | None = None) -> JsonResponse:
    body = {"error": message} if field is None else {"error": message, "field": field}
    return JsonResponse(body, status=status)


class SeriesChartAdminMixin:
    """Adds `<object_id>/chart/` (JSON for the chart) to a ModelAdmin whose objects have a series,
    and the chart to their change page.

    The object is fetched through the admin (`get_object`, so through `get_queryset`: whatever
    scoping the admin applies applies to the chart too) and the admin's view permission is
    checked; the series is the one the object links to. Subclasses say which with `chart_series`.
    """

    def chart_series(self, obj) -> Series | None:
        return obj.series

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/chart/",
                self.admin_site.admin_view(self.chart_view),
                name=f"{opts.app_label}_{opts.model_name}_chart",
            ),
            *super().get_urls(),
        ]

    def chart_view(self, request, object_id):
        """GET ?start=&end= -> the series over [start, end) as columns (see charts.ChartData).

        404 for an object this admin does not show, 403 without the view permission, 404 when
        the object has no series, 400 (with the field) for a bad range; always JSON.
        """
        if request.method != "GET":
            return _json_error(405, "use GET")
        if not self.has_view_permission(request):
            return _json_error(403, "you may not view this")
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return _json_error(404, "not found")
        if not self.has_view_permission(request, obj):
            return _json_error(403, "you may not view this")
        series = self.chart_series(obj)
        if series is None:
            return _json_error(404, "this object has no series")
        try:
            start_ms, end_ms = chart_range(request.GET, tz=series_zone(series), now_ms=now_ms())
            data = series_chart(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
        except Invalid as exc:
            return _json_error(400, exc.message, exc.field)
        extra = self.chart_extra(request, series, start_ms, end_ms)
        return JsonResponse({"series": series.pk, "unit": series.unit, **data.as_json(), **extra})

    def chart_extra(self, request, series: Series, start_ms: int, end_ms: int) -> dict:
        """More keys for the chart's JSON over [start_ms, end_ms): none here. A hook for the apps
        above this one, which this one must not import (the console adds the alarm markers)."""
        return {}

    def chart_context(self, request, obj) -> dict:
        series = self.chart_series(obj)
        if series is None:
            return {"chart": None}
        opts = self.model._meta
        return {
            "chart": {
                "url": reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_chart", args=[quote(obj.pk)]
                ),
                "series": series,
                "unit": series.unit or getattr(obj, "unit", ""),
                "time_zone": series_zone(series),
                "max_points": MAX_POINTS,
                "series_url": None
                if isinstance(obj, Series)
                else reverse(f"{self.admin_site.name}:timeseries_series_change", args=[quote(series.pk)]),
            }
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context.update(self.chart_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")


def _totals_period(request, time_zone: str) -> dict:
    """The month whose days and the year whose months the series page lists: `?month=YYYY-MM`
    and `?year=YYYY`, else the current local ones (a malformed value too)."""
    today = timezone.localdate(timezone=ZoneInfo(time_zone))
    month, year = today.replace(day=1), today.year
    found = _MONTH.fullmatch(request.GET.get("month", ""))
    if found and 1 <= int(found[2]) <= 12 and 1 <= int(found[1]) <= 9998:
        month = date(int(found[1]), int(found[2]), 1)
    if _YEAR.fullmatch(request.GET.get("year", "")) and 1 <= int(request.GET["year"]) <= 9998:
        year = int(request.GET["year"])
    return {"month": month, "year": year}


class UnitInput(forms.TextInput):
    """A text input offering the known units (a datalist): a unit not in the list is kept as typed."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or name}_known_units"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((unit,) for unit in KNOWN_UNITS))
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class SeriesForm(OrganizationOwnedForm):
    """A series' page: a series with samples cannot become virtual (they would be kept but never
    read: a virtual series is computed from its sources)."""

    def clean_kind(self):
        kind = self.cleaned_data.get("kind")
        if (
            kind == SeriesKind.VIRTUAL
            and self.instance.pk is not None
            and Sample.objects.filter(series_id=self.instance.pk).exists()
        ):
            raise ValidationError("A series with samples cannot become virtual: delete its samples first.")
        return kind


class VirtualSourceFormSet(BaseInlineFormSet):
    """The sources of a virtual series, checked together (stats/virtual.py): of its organization,
    of one unit, no cycle; only a virtual series has sources."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        sources = [
            form.cleaned_data["source"]
            for form in self.forms
            if form.cleaned_data.get("source") is not None and not form.cleaned_data.get("DELETE")
        ]
        if not sources:
            return
        if self.instance.kind != SeriesKind.VIRTUAL:
            raise ValidationError(
                "Only a virtual series has sources: remove them, or make the series virtual."
            )
        try:
            virtual_sources_check(self.instance, sources)
        except Invalid as exc:
            raise ValidationError(exc.message) from None


class VirtualSourceInline(admin.TabularInline):
    """A virtual series' terms (coefficient x source), edited with the series: the series' own
    permissions apply (its definition is part of it), in its organization."""

    model = VirtualSource
    fk_name = "virtual"
    formset = VirtualSourceFormSet
    fields = ("source", "coefficient")
    autocomplete_fields = ("source",)
    extra = 0
    verbose_name = "source"
    verbose_name_plural = "sources of a virtual series (its value is the sum of coefficient x source)"

    def _series_admin(self):
        return self.admin_site.get_model_admin(Series)

    def has_view_permission(self, request, obj=None):
        return self._series_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        series_admin = self._series_admin()
        if obj is None:
            return series_admin.has_add_permission(request)
        return series_admin.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)


@admin.register(Series)
class SeriesAdmin(SeriesSamplesAdminMixin, SeriesChartAdminMixin, OrganizationOwnedAdmin):
    form = SeriesForm

    def get_inlines(self, request, obj):
        # Only a virtual series has sources: a series is saved as virtual, then given them.
        return [VirtualSourceInline] if obj is not None and obj.kind == SeriesKind.VIRTUAL else []

    list_display = (
        *("name", "meter_code", "id", "organization", "kind", "unit", "site"),
        *("current_value", "current_at", "created_at"),
    )
    list_select_related = ("organization", "site")
    search_fields = ("name", "meter_code", "=id", "organization__name", "organization__slug")
    list_filter = ("kind", "site", "unit", "organization", "created_at")
    readonly_fields = ("id", "current_at", "current_value", "created_at")
    fields = (
        *("id", "organization", "name", "meter_code", "kind", "unit", "interval_end", "site"),
        *("current_at", "current_value", "created_at"),
    )

    def save_model(self, request, obj, form, change):
        """A change of what decides the statistics (kind, interval end, site) recomputes them in
        the background (stats/basis.py)."""
        super().save_model(request, obj, form, change)
        if change and set(form.changed_data) & STATISTICS_FIELDS:
            series_statistics_refresh(series_ids=[obj.pk])

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["widget"] = UnitInput
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        """Each series with its current sample (the newest at or before now: a sample dated later
        is listed on its page but is not current yet), annotated in the list's one query."""
        return super().get_queryset(request).annotate(**series_current(now_ms=now_ms()))

    @admin.display(description="latest sample", ordering="current_ts")
    def current_at(self, obj):
        moment = ms_to_datetime(obj.current_ts)
        if moment is None and obj.current_ts is not None:
            return ms_label(obj.current_ts)
        return moment

    @admin.display(description="latest value", ordering="current_value")
    def current_value(self, obj):
        return obj.current_value

    def chart_series(self, obj) -> Series:
        return obj

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            time_zone = series_zone(obj)
            context.update(
                {
                    "latest_samples": [
                        {"at": ms_label(row.ts), "ts": row.ts, "value": row.value, "quality": row.quality}
                        for row in samples_latest(series_id=obj.pk, limit=LATEST_SAMPLES)
                    ],
                    "latest_samples_limit": LATEST_SAMPLES,
                    "totals": calendar_totals(series=obj, **_totals_period(request, time_zone)),
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)
