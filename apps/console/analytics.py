"""The analytics JSON the console's pages read: `GET /admin/analytics/statistics.json`
(docs/energy.md, "The statistics endpoint").

    ?series=<id>&series=<id>...&start=YYYY-MM-DD&end=YYYY-MM-DD&bucket=day

answers each series' statistics per local bucket (`bucket=auto`: the finest of quarter_hour,
hour, day, week, month that keeps the range within AUTO_BUCKETS buckets; the answer's "bucket"
names the one chosen) (`selectors.statistics_read`) over the whole
buckets holding the local days [start, end) of the series' zone:

    {"bucket": "day", "series": [{"id", "name", "kind", "unit", "zone",
     "buckets": [{"start": "<ISO 8601 local time with offset>", "count", "total", "mean", "min",
     "max"}, ...]}, ...]}

A staff session of the admin (`admin.site.admin_view`: anonymous or non-staff users are sent to
the admin's login). The series are those the series admin shows the user (`scope_queryset` of
admin_scoping: the organizations where the user may view series), so the id of a series of
another organization is answered like one that does not exist: 404. Anything else wrong with
the request is a 400 with a message and the parameter at fault, and nothing else is read.
"""

import re
from dataclasses import dataclass
from datetime import date

import orjson
from django.contrib import admin
from django.http import HttpResponse, JsonResponse

from apps.core.exceptions import Invalid
from apps.timeseries.models import Series
from apps.timeseries.selectors import (
    BucketSize,
    StatisticsRangeError,
    bucket_count_bound,
    series_zone,
    statistics_read,
)

MAX_SERIES = 50
MAX_BUCKETS = 10_000
# What a chart shows legibly: bucket=auto picks the finest size that keeps a range within it.
AUTO_BUCKETS = 400
_AUTO_SIZES = (BucketSize.QUARTER_HOUR, BucketSize.HOUR, BucketSize.DAY, BucketSize.WEEK, BucketSize.MONTH)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"\d{1,18}")


@dataclass(frozen=True, slots=True)
class StatisticsRequest:
    series_ids: list[int]
    start: date
    end: date
    bucket: BucketSize


def _date(query, name: str) -> date:
    value = query.get(name, "")
    if not value:
        raise Invalid(f"{name} is required (YYYY-MM-DD)", field=name)
    if not _DATE.fullmatch(value):
        raise Invalid(f"{name} must be a date, YYYY-MM-DD", field=name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not a date of the calendar", field=name) from None


def auto_bucket(start: date, end: date) -> BucketSize:
    """The finest bucket size whose count over [start, end) stays within AUTO_BUCKETS (by the
    cheap upper bound, so in every zone), else month."""
    return next(
        (
            size
            for size in _AUTO_SIZES
            if bucket_count_bound(start=start, end=end, bucket=size) <= AUTO_BUCKETS
        ),
        BucketSize.MONTH,
    )


def series_ids_parse(query, *, per: str) -> list[int]:
    """The `series` parameters as distinct ids in their order, at most MAX_SERIES (`per`: "a
    request", "an export", for the message), or Invalid."""
    raw_ids = query.getlist("series")
    if not raw_ids:
        raise Invalid("series is required: one or more series ids", field="series")
    bad = next((raw for raw in raw_ids if not _ID.fullmatch(raw)), None)
    if bad is not None:
        raise Invalid(f"series must be series ids, not {bad[:40]!r}", field="series")
    series_ids = list(dict.fromkeys(int(raw) for raw in raw_ids))
    if len(series_ids) > MAX_SERIES:
        raise Invalid(f"at most {MAX_SERIES} series {per}", field="series")
    return series_ids


def series_in_scope(request, series_admin, series_ids: list[int]) -> list[Series] | JsonResponse:
    """The series of `series_ids` in their order, as the series admin shows them to the user, or
    the 404 of the first it does not (another organization's id is answered like an unknown one)."""
    found = {
        one.pk: one
        for one in series_admin.scope_queryset(
            request, Series.objects.select_related("organization", "site").filter(pk__in=series_ids)
        )
    }
    missing = [pk for pk in series_ids if pk not in found]
    if missing:
        return _error(404, f"series {missing[0]} not found", "series")
    return [found[pk] for pk in series_ids]


def series_request(request, parse):
    """What the console's series views (statistics, export) check first, in this order: GET only
    (405), a user who may view series (403), the parameters as `parse(request.GET)` reads them
    (400), their `series_ids` among the series the user may see (404). Returns (the parsed
    request, its series in order) or the error response."""
    if request.method != "GET":
        return _error(405, "use GET")
    series_admin = admin.site.get_model_admin(Series)
    if not series_admin.has_view_permission(request):
        return _error(403, "you may not view series")
    try:
        wanted = parse(request.GET)
    except Invalid as exc:
        return _error(400, exc.message, exc.field)
    series = series_in_scope(request, series_admin, wanted.series_ids)
    if isinstance(series, JsonResponse):
        return series
    return wanted, series


def statistics_request_parse(query) -> StatisticsRequest:
    """The request's parameters, or Invalid (message and parameter) for the first one wrong."""
    series_ids = series_ids_parse(query, per="a request")
    start, end = _date(query, "start"), _date(query, "end")
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if query.get("bucket") == "auto":
        return StatisticsRequest(series_ids, start, end, auto_bucket(start, end))
    try:
        bucket = BucketSize(query.get("bucket", ""))
    except ValueError:
        choices = ", ".join([*(size.value for size in BucketSize), "auto"])
        raise Invalid(f"bucket must be one of {choices}", field="bucket") from None
    return StatisticsRequest(series_ids, start, end, bucket)


def _error(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": message} if field is None else {"error": message, "field": field}, status=status
    )


def statistics_json_view(request):
    """GET -> the statistics of the requested series (module docstring); 405 for another method,
    403 for a user who may view no series, 404 for a series the user may not see, 400 for a bad
    request."""
    prepared = series_request(request, statistics_request_parse)
    if not isinstance(prepared, tuple):
        return prepared
    wanted, series = prepared
    try:
        read = statistics_read(
            series, start=wanted.start, end=wanted.end, bucket=wanted.bucket, max_buckets=MAX_BUCKETS
        )
    except StatisticsRangeError as exc:
        return _error(400, f"{exc} a series: choose a shorter range or a longer bucket", "end")
    except Invalid as exc:  # a virtual series defined in terms of itself
        return _error(400, exc.message, "series")
    body = {
        "bucket": wanted.bucket.value,
        "series": [
            {
                "id": one.pk,
                "name": one.name,
                "kind": one.kind,
                "unit": one.unit,
                "zone": series_zone(one),
                "buckets": read[one.pk].rows(),
            }
            for one in series
        ],
    }
    return HttpResponse(orjson.dumps(body), content_type="application/json")
