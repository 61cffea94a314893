"""Read the statistics per local calendar bucket: one read for every chart and table
(docs/energy.md, "Reading the statistics").

`statistics_read` answers from the quarter-hour table (quarter-hour and hour buckets) or the
daily table (day, week, month and year buckets), never from the samples. The buckets of each
series are the calendar buckets of its own zone (edges.py); every bucket of the range is listed,
with count 0 and null figures when nothing was measured in it.

The aggregation is SQL: on PostgreSQL `width_bucket` places each statistics row by binary search
in the array of bucket starts, in one index range scan per series; SQLite joins the buckets,
sent as one JSON list (`rows_source`), to the table by range. Series that share their buckets
(same zone, same table) are read by one statement. Python only spreads the aggregated rows over
the bucket list and combines virtual series' sources (virtual.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from ..models import Series, SeriesKind
from ..sql import ids_match
from .buckets import rows_source, series_calendars
from .edges import BucketSize, bucket_count_bound, bucket_edges
from .virtual import virtual_terms

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TABLES = {False: "timeseries_stats_quarter", True: "timeseries_stats_day"}


@dataclass(frozen=True, slots=True)
class StatisticsBucket:
    """One series over one local bucket starting at `start` (aware, in the series' zone).

    `total` is the consumption (counters: increments; interval series: the sum; null for
    measurements), `mean` the mean of the samples (sum / count); all null when `count` is 0.
    A virtual series' figures are its sources' (virtual.py): `count` their samples, `total` and
    `mean` the linear combination, `min` and `max` null.
    """

    start: datetime
    count: int
    total: float | None
    mean: float | None
    min: float | None
    max: float | None


class StatisticsRangeError(ValueError):
    """The range holds more buckets than the caller allows, or none."""


@dataclass(frozen=True, slots=True)
class _Figures:
    """A stored series' aggregated rows over some bucket list, as columns by bucket index."""

    count: list[int]
    sum: list[float | None]
    total: list[float | None]
    min: list[float | None]
    max: list[float | None]


def statistics(
    series: Series, start: date, end: date, bucket: BucketSize | str, *, max_buckets: int | None = None
) -> list[StatisticsBucket]:
    """The buckets of one series over the local days [start, end) (`statistics_read`)."""
    return statistics_read([series], start=start, end=end, bucket=bucket, max_buckets=max_buckets)[series.pk]


def statistics_read(
    series: Sequence[Series],
    *,
    start: date,
    end: date,
    bucket: BucketSize | str,
    max_buckets: int | None = None,
) -> dict[int, list[StatisticsBucket]]:
    """Each series' statistics per `bucket` over the whole calendar buckets of its zone that hold
    the local days [start, end), keyed by series id, oldest bucket first.

    `series` need their organization and site loaded (select_related) or cost a query each for
    their zone. Raises StatisticsRangeError when `end <= start` or a series would have more than
    `max_buckets` buckets; ValueError for an unknown bucket.
    """
    bucket = BucketSize(bucket)
    if end <= start:
        raise StatisticsRangeError("start must be before end")
    if max_buckets is not None and bucket_count_bound(start=start, end=end, bucket=bucket) > max_buckets * 2:
        raise StatisticsRangeError(f"the range holds more than {max_buckets:,} buckets")
    zones = {one.pk: _zone_of(one) for one in series}
    edges_by_zone = {
        zone: bucket_edges(zone=zone, start=start, end=end, bucket=bucket) for zone in set(zones.values())
    }
    if max_buckets is not None and any(len(edges) - 1 > max_buckets for edges in edges_by_zone.values()):
        raise StatisticsRangeError(f"the range holds more than {max_buckets:,} buckets")

    virtual = [one.pk for one in series if one.kind == SeriesKind.VIRTUAL]
    terms = virtual_terms(virtual) if virtual else {}
    source_ids = {sid for combination in terms.values() for sid in combination}
    calendars = series_calendars(source_ids) if source_ids else {}
    # What to read: (stored series, zone of the buckets, from the daily table?).
    reads: set[tuple[int, str, bool]] = set()
    for one in series:
        if one.kind != SeriesKind.VIRTUAL:
            reads.add((one.pk, zones[one.pk], bucket.from_days))
        else:
            for sid in terms[one.pk]:
                # A source's days are those of its own zone: in another zone its quarter-hours
                # are summed into the virtual series' buckets instead.
                same_days = bucket.from_days and calendars[sid].zone == zones[one.pk]
                reads.add((sid, zones[one.pk], same_days))
    figures = _figures_read(reads, edges_by_zone)

    starts = {zone: _local_starts(edges, zone) for zone, edges in edges_by_zone.items()}
    result = {}
    for one in series:
        zone = zones[one.pk]
        if one.kind == SeriesKind.VIRTUAL:
            parts = [
                (coefficient, figures[(sid, zone, bucket.from_days and calendars[sid].zone == zone)])
                for sid, coefficient in terms[one.pk].items()
            ]
            result[one.pk] = _combined(starts[zone], parts)
        else:
            result[one.pk] = _buckets(starts[zone], figures[(one.pk, zone, bucket.from_days)])
    return result


def _zone_of(series: Series) -> str:
    from ..selectors import series_zone  # selectors export this module's functions

    return series_zone(series)


def _local_starts(edges: list[int], zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    return [(_EPOCH + timedelta(milliseconds=ms)).astimezone(tz) for ms in edges[:-1]]


def _figures_read(
    reads: set[tuple[int, str, bool]], edges_by_zone: dict[str, list[int]]
) -> dict[tuple[int, str, bool], _Figures]:
    """The aggregated statistics of each (series, zone, daily table) read: one statement per
    zone and table, for all its series."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for sid, zone, daily in reads:
        groups.setdefault((zone, daily), []).append(sid)
    result = {}
    for (zone, daily), ids in groups.items():
        edges = edges_by_zone[zone]
        n = len(edges) - 1
        columns = {sid: _Figures([0] * n, [None] * n, [None] * n, [None] * n, [None] * n) for sid in ids}
        for sid, index, count, sum_, total, min_, max_ in _aggregate(_TABLES[daily], sorted(ids), edges):
            one = columns[sid]
            one.count[index] = count
            one.sum[index] = sum_
            one.total[index] = total
            one.min[index] = min_
            one.max[index] = max_
        for sid in ids:
            result[(sid, zone, daily)] = columns[sid]
    return result


def _aggregate(table: str, ids: list[int], edges: list[int]) -> list[tuple]:
    """(series_id, bucket index, count, sum, consumption, min, max) of each non-empty bucket
    [edges[i], edges[i + 1]) of each series, summed from `table`'s rows by their start."""
    figures = "SUM(t.count), SUM(t.sum), SUM(t.consumption), MIN(t.min), MAX(t.max)"
    match, params = ids_match("t.series_id", ids)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT t.series_id, width_bucket(t.start, %s::int8[]) - 1 AS b, {figures} "
                f"FROM {table} t WHERE {match} AND t.start >= %s AND t.start < %s GROUP BY t.series_id, b",
                ["{" + ",".join(map(str, edges[:-1])) + "}", *params, edges[0], edges[-1]],
            )
        else:
            source, bucket_params = rows_source(
                [("b", "int8"), ("lo", "int8"), ("hi", "int8")],
                [(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)],
            )
            cursor.execute(
                f"SELECT t.series_id, e.b, {figures} FROM ({source}) AS e JOIN {table} t "
                f"ON {match} AND t.start >= e.lo AND t.start < e.hi GROUP BY t.series_id, e.b",
                [*bucket_params, *params],
            )
        return cursor.fetchall()


def _buckets(starts: list[datetime], figures: _Figures) -> list[StatisticsBucket]:
    return [
        StatisticsBucket(start, count, total, sum_ / count if count else None, min_, max_)
        for start, count, sum_, total, min_, max_ in zip(
            starts, figures.count, figures.sum, figures.total, figures.min, figures.max, strict=True
        )
    ]


def _combined(starts: list[datetime], parts: list[tuple[float, _Figures]]) -> list[StatisticsBucket]:
    """A virtual series' buckets from its stored sources' figures (see StatisticsBucket): `count`
    the sources' samples; `total` Σ coefficient * total over the sources with a total (a source
    without samples in the bucket consumed nothing there, so daily totals still add up to the
    month's), null when none has one; `mean` Σ coefficient * mean when every source has
    samples in the bucket (a silent sub-meter's power is unknown, not 0), else null; `min` and
    `max` null: the extremes of a sum are not those of its terms."""
    result = []
    for i, start in enumerate(starts):
        count, total, mean = 0, None, 0.0
        for coefficient, figures in parts:
            n = figures.count[i]
            count += n
            if figures.total[i] is not None:
                total = (total or 0.0) + coefficient * figures.total[i]
            if mean is not None:
                mean = mean + coefficient * figures.sum[i] / n if n else None
        result.append(StatisticsBucket(start, count, total, mean if parts and count else None, None, None))
    return result
