"""What the admin's charts draw: a series over a time range, thinned to at most MAX_POINTS (its
figures per local day and month are in calendar_totals.py).

A chart gets raw samples when the range holds at most MAX_POINTS of them, and otherwise the
store's rollups (last, min, max per period) with the shortest period of PERIOD_LADDER_MS that
keeps the number of periods within MAX_POINTS. The ladder is fixed, so the same range always
gets the same periods (cacheable, comparable between series), and the periods are epoch-aligned
like every rollup of the store. A range longer than DAILY_FROM_MS (the chart's "year" and "all")
is drawn as the local days of the series' zone instead, from its daily statistics. No function
here loads more than MAX_POINTS + 1 samples into Python: counting is done by reading at most one
row past the cap, rolling up in SQL.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from apps.core.exceptions import Invalid

from .models import MAX_TS_MS, MIN_TS_MS, DailyStatistics, Series
from .query import Rollup, rollups_by_edges, samples_page
from .rollup import rollups
from .selectors import series_zone
from .stats.calendar import QUARTER_MS
from .stats.edges import BucketSize, bucket_edges
from .stats.rollups import rollups_from_statistics, statistics_serve

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

MAX_POINTS = 2_000
PERIOD_LADDER_MS = (
    SECOND_MS,
    5 * SECOND_MS,
    10 * SECOND_MS,
    30 * SECOND_MS,
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    7 * DAY_MS,
)
DEFAULT_RANGE_MS = DAY_MS
# Longer ranges are drawn per local day (a quarter of a year and more: the chart's "year" and
# "all"); periods of the ladder would cut the days at UTC midnight.
DAILY_FROM_MS = 92 * DAY_MS

_INTEGER = re.compile(r"-?\d{1,16}")


@dataclass(frozen=True, slots=True)
class ChartData:
    """Columns of one chart: `t` (epoch ms), `last` and, when rolled up, `min` and `max`.

    Raw samples (`period_ms` None) have `t` = the sample times and no min/max. Rollups have `t` =
    the start of each period that holds samples, `last` = the value of its last sample. Daily
    buckets (`bucket` "day", `period_ms` a nominal day) are local days of the series' zone, 23 or
    25 hours long across a daylight-saving change, and [start_ms, end_ms) is widened to whole
    days. `first_ts` and `last_ts` are the series' first and last samples (None without any):
    the chart's "all" range.
    """

    start_ms: int
    end_ms: int
    period_ms: int | None
    t: list[int]
    last: list[float]
    min: list[float] | None = None
    max: list[float] | None = None
    bucket: str | None = None
    first_ts: int | None = None
    last_ts: int | None = None

    def as_json(self) -> dict:
        return {
            "start": self.start_ms,
            "end": self.end_ms,
            "period_ms": self.period_ms,
            "points": len(self.t),
            "max_points": MAX_POINTS,
            "t": self.t,
            "last": self.last,
            "min": self.min,
            "max": self.max,
            "bucket": self.bucket,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
        }


def period_count(*, start_ms: int, end_ms: int, period_ms: int) -> int:
    """How many epoch-aligned periods of `period_ms` overlap [start_ms, end_ms): the most records a
    rollup of the range can have."""
    if end_ms <= start_ms:
        return 0
    return (end_ms - 1) // period_ms - start_ms // period_ms + 1


def chart_period(*, start_ms: int, end_ms: int, max_points: int = MAX_POINTS) -> int:
    """The shortest period of the ladder whose rollup of [start_ms, end_ms) has at most
    `max_points` records. Raises Invalid when even the longest one has more (a range of decades)."""
    for period_ms in PERIOD_LADDER_MS:
        if period_count(start_ms=start_ms, end_ms=end_ms, period_ms=period_ms) <= max_points:
            return period_ms
    raise Invalid("the range is too long to chart", field="start")


def series_chart(*, series_id: int, start_ms: int, end_ms: int, max_points: int = MAX_POINTS) -> ChartData:
    """A series over [start_ms, end_ms) as at most `max_points` points: its raw samples when there
    are that few, else rollups at the period `chart_period` picks; a range longer than
    DAILY_FROM_MS as local days (`_daily_chart`) while they are at most `max_points`.

    Three statements at most: the series' first and last sample times, a page of max_points + 1
    samples (one more than fit says "too many" without counting the whole range), then one
    rollup query; a daily chart reads the series, then its days.
    """
    if end_ms <= start_ms:
        raise Invalid("start must be before end", field="start")
    period_ms = chart_period(start_ms=start_ms, end_ms=end_ms, max_points=max_points)
    extent = _sample_extent(series_id)
    if end_ms - start_ms > DAILY_FROM_MS:
        daily = _daily_chart(series_id=series_id, start_ms=start_ms, end_ms=end_ms, max_points=max_points)
        if daily is not None:
            return ChartData(**daily, first_ts=extent[0], last_ts=extent[1])
    rows = samples_page(series_id=series_id, start_ms=start_ms, end_ms=end_ms, limit=max_points + 1)
    if len(rows) <= max_points:
        return ChartData(
            start_ms=start_ms,
            end_ms=end_ms,
            period_ms=None,
            t=[row.ts for row in rows],
            last=[row.value for row in rows],
            first_ts=extent[0],
            last_ts=extent[1],
        )
    records = _chart_rollups(series_id=series_id, start_ms=start_ms, end_ms=end_ms, period_ms=period_ms)
    return ChartData(
        start_ms=start_ms,
        end_ms=end_ms,
        period_ms=period_ms,
        t=[record.period_end_ms - period_ms for record in records],
        last=[record.value for record in records],
        min=[record.min for record in records],
        max=[record.max for record in records],
        first_ts=extent[0],
        last_ts=extent[1],
    )


def _sample_extent(series_id: int) -> tuple[int | None, int | None]:
    """The series' first and last sample times: two primary-key lookups. Hand-written because
    SQLite finds a MIN and a MAX by the index only when each is a query of its own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT MIN(ts) FROM timeseries_sample WHERE series_id = %s),"
            " (SELECT MAX(ts) FROM timeseries_sample WHERE series_id = %s)",
            [series_id, series_id],
        )
        first, last = cursor.fetchone()
    return first, last


def _daily_chart(*, series_id: int, start_ms: int, end_ms: int, max_points: int) -> dict | None:
    """The local days of the series' zone that hold [start_ms, end_ms): last value, min and max
    of each day that has samples, from the daily statistics (one row a day) when they serve the
    series (`statistics_serve`), else rolled up from the samples in SQL. None when there are
    more than `max_points` days (the ladder's weeks draw them)."""
    series = Series.objects.select_related("site", "organization").get(pk=series_id)
    zone = ZoneInfo(series_zone(series))
    first_day = datetime.fromtimestamp(start_ms / 1000, zone).date()
    last_day = datetime.fromtimestamp((end_ms - 1) / 1000, zone).date()
    if (last_day - first_day).days + 1 > max_points:
        return None
    edges = bucket_edges(
        zone=zone.key, start=first_day, end=last_day + timedelta(days=1), bucket=BucketSize.DAY
    )
    window = {"start_ms": edges[0], "end_ms": edges[-1], "period_ms": DAY_MS}
    if statistics_serve(
        kind=series.kind,
        interval_end=series.interval_end,
        pending=series.statistics_pending,
        recorded_interval_end=series.statistics_interval_end,
        **window,
    ):
        rows = list(
            DailyStatistics.objects.filter(series_id=series_id, start__gte=edges[0], start__lt=edges[-1])
            .order_by("start")
            .values_list("start", "last_value", "min", "max")
        )
    else:
        rows = [
            (b.start_ms, b.value, b.min, b.max) for b in rollups_by_edges(series_id=series_id, edges_ms=edges)
        ]
    return {
        "start_ms": edges[0],
        "end_ms": edges[-1],
        "period_ms": DAY_MS,
        "bucket": "day",
        "t": [row[0] for row in rows],
        "last": [row[1] for row in rows],
        "min": [row[2] for row in rows],
        "max": [row[3] for row in rows],
    }


def _chart_rollups(*, series_id: int, start_ms: int, end_ms: int, period_ms: int) -> list[Rollup]:
    """The chart's rollups: from the quarter-hour statistics when its periods are whole
    quarter-hours and they can serve the series (stats/rollups.py), else from the samples."""
    window = {"start_ms": start_ms, "end_ms": end_ms, "period_ms": period_ms}
    if period_ms % QUARTER_MS == 0:
        fields = ("kind", "interval_end", "statistics_pending", "statistics_interval_end")
        for kind, interval_end, pending, recorded in Series.objects.filter(pk=series_id).values_list(*fields):
            if statistics_serve(
                kind=kind,
                interval_end=interval_end,
                pending=pending,
                recorded_interval_end=recorded,
                **window,
            ):
                return rollups_from_statistics(series_id=series_id, **window)
    return rollups(series_ids=[series_id], **window)[series_id]


def _parse_time(value: str, *, field: str, tz: ZoneInfo) -> int:
    value = value.strip()
    if _INTEGER.fullmatch(value):
        ms = int(value)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(
                f"{field} must be epoch milliseconds or an ISO 8601 date and time", field=field
            ) from None
        if moment.tzinfo is None:
            # A time without offset is a wall-clock time of the organization (what its people
            # type into the custom range); fold=0 picks the first of an ambiguous hour.
            moment = moment.replace(tzinfo=tz)
        try:
            ms = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        except OverflowError:
            raise Invalid(f"{field} is out of range", field=field) from None
    if not MIN_TS_MS <= ms <= MAX_TS_MS:
        raise Invalid(f"{field} is out of range", field=field)
    return ms


def chart_range(params: Mapping[str, str], *, tz: str, now_ms: int) -> tuple[int, int]:
    """[start_ms, end_ms) from a chart request's `start` and `end`.

    Each is epoch milliseconds or an ISO 8601 date and time; one without an offset is read in
    `tz` (the organization's time zone). `end` defaults to `now_ms`, `start` to a day before
    `end`. Raises Invalid (with the field) for anything else.
    """
    zone = ZoneInfo(tz)
    end_ms = _parse_time(params["end"], field="end", tz=zone) if params.get("end") else now_ms
    if params.get("start"):
        start_ms = _parse_time(params["start"], field="start", tz=zone)
    else:
        start_ms = max(end_ms - DEFAULT_RANGE_MS, MIN_TS_MS)
    if start_ms >= end_ms:
        raise Invalid("start must be before end", field="start")
    return start_ms, end_ms
