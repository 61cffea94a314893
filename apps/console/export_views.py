"""The export's pages: `GET /admin/analytics/export.csv` and `export.xlsx` (the file) and
`/admin/analytics/export/` (a form that builds the request). docs/energy.md, "Export".

    ?series=<id>...&start=YYYY-MM-DD&end=YYYY-MM-DD&bucket=samples|quarter_hour|...|year
     &shape=long|wide&time=utc|local&delimiter=,|;&decimal=.|,

Scoped like the statistics endpoint (analytics.py): a staff session of the admin, the series
the series admin shows the user, another organization's series answered 404 like a missing one,
anything else wrong a 400 naming the parameter, and nothing read after a refusal.
"""

from django.contrib import admin
from django.http import FileResponse, StreamingHttpResponse
from django.template.response import TemplateResponse

from apps.core.exceptions import Invalid
from apps.timeseries.models import Series
from apps.timeseries.selectors import BucketSize

from .analytics import _error, series_request
from .export import (
    LONG,
    SAMPLES,
    XLSX_MAX_ROWS,
    csv_chunks,
    export_check,
    export_filename,
    export_request_parse,
    export_rows,
    xlsx_file,
)

FORM_SERIES = 1_000


def _series_admin(request):
    series_admin = admin.site.get_model_admin(Series)
    if not series_admin.has_view_permission(request):
        return None
    return series_admin


def _prepared(request):
    """(request, series, bucket counts) or the error response."""
    prepared = series_request(request, export_request_parse)
    if not isinstance(prepared, tuple):
        return prepared
    wanted, series = prepared
    try:
        counts = export_check(wanted, series)
    except Invalid as exc:
        return _error(400, exc.message, exc.field or "series")
    return wanted, series, counts


def export_csv_view(request):
    """GET -> the CSV, streamed (module docstring)."""
    prepared = _prepared(request)
    if not isinstance(prepared, tuple):
        return prepared
    wanted, series, _counts = prepared
    response = StreamingHttpResponse(csv_chunks(wanted, series), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(wanted, "csv")}"'
    return response


def export_xlsx_view(request):
    """GET -> the statistics as XLSX; a 400 for raw samples or past a worksheet's rows."""
    prepared = _prepared(request)
    if not isinstance(prepared, tuple):
        return prepared
    wanted, series, counts = prepared
    if wanted.bucket is None:
        message = "an XLSX export holds statistics: choose a bucket, or export samples as CSV"
        return _error(400, message, "bucket")
    rows = export_rows(wanted, counts)
    if rows > XLSX_MAX_ROWS:
        return _error(
            400,
            f"{rows:,} rows do not fit a worksheet ({XLSX_MAX_ROWS:,} at most): use CSV, or a longer bucket",
            "bucket",
        )
    return FileResponse(
        xlsx_file(wanted, series),
        as_attachment=True,
        filename=export_filename(wanted, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def export_form_view(request):
    """The form that builds an export's request: the series the user may view (the first
    FORM_SERIES by name) and the options."""
    series_admin = _series_admin(request)
    if series_admin is None:
        return _error(403, "you may not view series")
    # The fields the options show only: a thousand whole series rows were a third of the page.
    series = series_admin.scope_queryset(
        request, Series.objects.only("name", "meter_code").order_by("name", "pk")
    )[:FORM_SERIES]
    context = {
        **admin.site.each_context(request),
        "title": "Export series",
        "series": series,
        "selected": set(request.GET.getlist("series")),
        "buckets": [SAMPLES, *(size.value for size in BucketSize)],
        "long": LONG,
    }
    return TemplateResponse(request, "admin/console/export.html", context)
