"""A series' samples in ranges, pages of the series' admin (SeriesAdmin.get_urls):

- `<id>/export/`: the samples in a range as a CSV download (export.py), streamed; without
  `download` in the query, the page with the range form;
- `<id>/delete-samples/`: delete the samples in a range, in two steps: the range form, then a
  confirmation page that says how many samples will go; confirming deletes them
  (`samples_delete`).

The series is fetched through the admin (`get_object`, so through its organization scoping:
another organization's series is "not found") and the admin's permissions are checked: view to
export, change to delete samples (403 without).
"""

import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.exceptions import Invalid, NotFound
from apps.core.time import ms_to_iso

# The CSV import's reader of one timestamp (ISO 8601 or epoch seconds or milliseconds, wall clock
# times in a zone): the range form reads its bounds as the import reads a file's times. It
# depends on nothing above this app (only models.MAX_TS_MS).
from apps.core.uploads.timestamps import CellError, TimestampReader

from .export import export_filename, samples_csv
from .models import Series
from .query import samples_count
from .selectors import series_zone
from .services import samples_delete

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TIME_ZONES = sorted(zoneinfo.available_timezones())


class RangeForm(forms.Form):
    """A range of a series' samples, [start, end): ISO 8601 (without offset: in `time_zone`) or
    epoch seconds or milliseconds; a blank bound is open."""

    start = forms.CharField(required=False, label="From (inclusive)")
    end = forms.CharField(required=False, label="To (exclusive)")
    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        choices=[("", "The organization's time zone"), *((n, n) for n in TIME_ZONES)],
    )

    def __init__(self, *args, default_time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_time_zone = default_time_zone
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update({"placeholder": "2024-03-01T00:00", "size": 24})

    def clean(self):
        data = super().clean()
        zone = data.get("time_zone") or self.default_time_zone
        for name in ("start", "end"):
            cell = (data.get(name) or "").strip()
            try:
                data[f"{name}_ms"] = TimestampReader(zone).read(cell, 0) if cell else None
            except CellError as exc:
                self.add_error(name, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        start, end = data.get("start_ms"), data.get("end_ms")
        if start is not None and end is not None and start >= end:
            self.add_error("end", "The end must come after the start.")
        return data


def _iso(ms: int | None) -> str:
    return "" if ms is None else ms_to_iso(ms)


class SeriesSamplesAdminMixin:
    """The export and range-deletion pages of the series' ModelAdmin (see the module docstring)."""

    def get_urls(self):
        wrap, prefix = self.admin_site.admin_view, f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/export/", wrap(self.export_view), name=f"{prefix}_export"),
            path(
                "<path:object_id>/delete-samples/",
                wrap(self.delete_samples_view),
                name=f"{prefix}_delete_samples",
            ),
            *super().get_urls(),
        ]

    def _series(self, request, object_id, may) -> Series:
        """The series this admin shows under `object_id`: 403 unless `may(request)` holds for the
        model and for the series, 404 when the admin does not show it."""
        if not may(request):
            raise PermissionDenied
        series = self.get_object(request, unquote(object_id))
        if series is None:
            raise Http404("No such series.")
        if not may(request, series):
            raise PermissionDenied
        return series

    def _page(self, request, series, template: str, title: str, context: dict) -> TemplateResponse:
        change_url = reverse(f"{self.admin_site.name}:timeseries_series_change", args=[quote(series.pk)])
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "crumbs": [(str(series), change_url)],
                "series": series,
                "original": series,
                **context,
            },
        )

    def export_view(self, request, object_id):
        series = self._series(request, object_id, self.has_view_permission)
        form = RangeForm(request.GET or None, default_time_zone=series_zone(series))
        if "download" in request.GET and form.is_valid():
            start_ms, end_ms = form.cleaned_data["start_ms"], form.cleaned_data["end_ms"]
            response = StreamingHttpResponse(
                samples_csv(series_id=series.pk, start_ms=start_ms, end_ms=end_ms),
                content_type="text/csv; charset=utf-8",
            )
            name = export_filename(
                label=series.meter_code or f"series-{series.pk}", start_ms=start_ms, end_ms=end_ms
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return self._page(
            request,
            series,
            "admin/timeseries/series/export.html",
            f"Export samples of {series}",
            {"form": form},
        )

    def delete_samples_view(self, request, object_id):
        series = self._series(request, object_id, self.has_change_permission)
        change = f"{self.admin_site.name}:timeseries_series_change"
        if request.method == "POST" and "confirm" in request.POST:
            try:
                start_ms, end_ms = (int(request.POST.get(name, "")) for name in ("start_ms", "end_ms"))
            except ValueError:
                return redirect(f"{self.admin_site.name}:timeseries_series_delete_samples", quote(series.pk))
            start_ms, end_ms = max(start_ms, INT64_MIN), min(end_ms, INT64_MAX)
            try:
                deleted = samples_delete(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
            except NotFound as exc:
                raise Http404("No such series.") from exc
            except Invalid as exc:  # a virtual series: it has no samples
                messages.error(request, exc.message)
                return redirect(change, quote(series.pk))
            messages.success(request, f"Deleted {deleted:,} sample{'s' if deleted != 1 else ''} of {series}.")
            return redirect(change, quote(series.pk))
        form = RangeForm(request.POST or None, default_time_zone=series_zone(series))
        context = {"form": form}
        if request.method == "POST" and form.is_valid():
            start_ms, end_ms = form.cleaned_data["start_ms"], form.cleaned_data["end_ms"]
            bounds = (INT64_MIN if start_ms is None else start_ms, INT64_MAX if end_ms is None else end_ms)
            context |= {
                "confirm": True,
                "count": samples_count(series_id=series.pk, start_ms=bounds[0], end_ms=bounds[1]),
                "start_ms": bounds[0],
                "end_ms": bounds[1],
                "start_at": _iso(start_ms),
                "end_at": _iso(end_ms),
                "time_zone": form.cleaned_data["time_zone"] or series_zone(series),
            }
        return self._page(
            request,
            series,
            "admin/timeseries/series/delete_samples.html",
            f"Delete samples of {series}",
            context,
        )
