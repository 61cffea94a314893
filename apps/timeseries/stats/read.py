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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.db import connection

from ..models import Series, SeriesKind
from ..sql import ids_match
from .buckets import rows_source, series_calendars
from .edges import BucketSize, bucket_count_bound, bucket_edges
from .virtual import virtual_terms

_TABLES = {False: "timeseries_stats_quarter", True: "timeseries_stats_day"}
_COLUMNS = ("count", "total", "mean", "min", "max", "resets", "steps_back")


@dataclass(slots=True)
class StatisticsBucket:
    """One series over one local bucket starting at `start` (aware, in the series' zone).

    `total` is the consumption (counters: increments; interval series: the sum; null for
    measurements), `mean` the mean of the samples (sum / count); all null when `count` is 0.
    A virtual series' figures are its sources' (`_combined`): `count` their samples, `total` and
    `mean` the linear combination, `min` and `max` null.
    """

    start: datetime
    count: int
    total: float | None
    mean: float | None
    min: float | None
    max: float | None


@dataclass(slots=True)
class SeriesStatistics:
    """One series' buckets as columns, index i being the bucket starting at `starts[i]`: what a
    chart draws, and cheaper to build than an object a bucket (a year of days of 100 series is
    36,600 buckets)."""

    starts: list[datetime]
    count: list[int]
    total: list[float | None]
    mean: list[float | None]
    min: list[float | None]
    max: list[float | None]
    # A counter's increments that were resets or small steps back (0 for the other kinds; None
    # for a virtual series): a measurement declared a counter shows resets everywhere.
    resets: list[int | None]
    steps_back: list[int | None]
    # The buckets' UTC edges in epoch ms: bucket i is [edges_ms[i], edges_ms[i + 1]).
    edges_ms: list[int]

    @property
    def buckets(self) -> list[StatisticsBucket]:
        return [StatisticsBucket(*figures) for figures in zip(*self._columns(), strict=True)]

    def rows(self) -> list[dict]:
        """The buckets as JSON objects: start, count, total, mean, min, max."""
        return [
            {"start": start, "count": count, "total": total, "mean": mean, "min": min_, "max": max_}
            for start, count, total, mean, min_, max_ in zip(*self._columns(), strict=True)
        ]

    def _columns(self) -> tuple[list, ...]:
        return (self.starts, self.count, self.total, self.mean, self.min, self.max)


class StatisticsRangeError(ValueError):
    """The range holds more buckets than the caller allows, or none."""


@dataclass(slots=True)
class _Figures:
    """A stored series' aggregated rows over some bucket list, as columns by bucket index."""

    count: list[int]
    total: list[float | None]
    mean: list[float | None]
    min: list[float | None]
    max: list[float | None]
    resets: list[int | None]
    steps_back: list[int | None]

    @classmethod
    def empty(cls, n: int) -> "_Figures":
        return cls([0] * n, *([None] * n for _ in range(6)))


def statistics(
    series: Series, start: date, end: date, bucket: BucketSize | str, *, max_buckets: int | None = None
) -> list[StatisticsBucket]:
    """The buckets of one series over the local days [start, end) (`statistics_read`)."""
    read = statistics_read([series], start=start, end=end, bucket=bucket, max_buckets=max_buckets)
    return read[series.pk].buckets


def statistics_read(
    series: Sequence[Series],
    *,
    start: date,
    end: date,
    bucket: BucketSize | str,
    max_buckets: int | None = None,
) -> dict[int, SeriesStatistics]:
    """Each series' statistics per `bucket` over the whole calendar buckets of its zone that hold
    the local days [start, end), keyed by series id, oldest bucket first.

    `series` need their organization and site loaded (select_related) or cost a query each for
    their zone. Raises StatisticsRangeError when `end <= start` or a series would have more than
    `max_buckets` buckets; ValueError for an unknown bucket; VirtualCycle (Invalid) for a
    virtual series defined in terms of itself.
    """
    bucket = BucketSize(bucket)
    if end <= start:
        raise StatisticsRangeError("start must be before end")
    if max_buckets is not None and bucket_count_bound(start=start, end=end, bucket=bucket) > max_buckets * 2:
        raise StatisticsRangeError(f"the range holds more than {max_buckets:,} buckets")
    zones = {one.pk: series_zone(one) for one in series}
    calendars = {zone: _calendar(zone, start, end, bucket) for zone in set(zones.values())}
    edges_by_zone = {zone: list(edges) for zone, (edges, _) in calendars.items()}
    if max_buckets is not None and any(len(edges) - 1 > max_buckets for edges in edges_by_zone.values()):
        raise StatisticsRangeError(f"the range holds more than {max_buckets:,} buckets")

    virtual = [one.pk for one in series if one.kind == SeriesKind.VIRTUAL]
    terms = virtual_terms(virtual) if virtual else {}
    source_ids = {sid for combination in terms.values() for sid in combination}
    source_calendars = series_calendars(source_ids) if source_ids else {}

    def read_of(sid: int, zone: str) -> tuple[int, str, bool]:
        # (stored series, zone of the buckets, from the daily table?): a series' days are those
        # of its own zone; in another zone (a virtual series' source) its quarter-hours are
        # summed into the buckets instead.
        own_zone = zones[sid] if sid in zones else source_calendars[sid].zone
        return sid, zone, bucket.from_days and own_zone == zone

    reads = {
        read_of(sid, zones[one.pk])
        for one in series
        for sid in (terms[one.pk] if one.kind == SeriesKind.VIRTUAL else (one.pk,))
    }
    figures = _figures_read(reads, edges_by_zone, bucket)

    starts = {zone: list(local) for zone, (_, local) in calendars.items()}
    result = {}
    for one in series:
        zone = zones[one.pk]
        if one.kind == SeriesKind.VIRTUAL:
            parts = [(c, figures[read_of(sid, zone)]) for sid, c in terms[one.pk].items()]
            result[one.pk] = _combined(starts[zone], edges_by_zone[zone], parts)
        else:
            own = figures[read_of(one.pk, zone)]
            result[one.pk] = SeriesStatistics(
                starts[zone],
                own.count,
                own.total,
                own.mean,
                own.min,
                own.max,
                own.resets,
                own.steps_back,
                edges_by_zone[zone],
            )
    return result


def series_zone(series: Series) -> str:
    """The IANA time zone of `series`' local calendar (days, weeks from Monday, months, years):
    its site's, else its organization's. Reads the related rows unless they are loaded
    (select_related("site", "organization") spares the queries). Exported by selectors."""
    if series.site_id is not None:
        return series.site.time_zone
    return series.organization.time_zone


_CALENDARS_KEPT = 64
_CALENDAR_KEPT_BUCKETS = 10_000


def _calendar(zone: str, start: date, end: date, bucket: BucketSize) -> tuple[tuple[int, ...], tuple]:
    """The bucket edges of `zone` over [start, end) and the buckets' local starts. Those of up to
    _CALENDAR_KEPT_BUCKETS buckets are kept for the next request in this process (the last
    _CALENDARS_KEPT): a year of days is 366 local midnights of each zone, 5 ms to compute, and
    every view of the analysis page asks for the same range again. They change only with the
    zone rules (the tzdata of a new process)."""
    if bucket_count_bound(start=start, end=end, bucket=bucket) <= _CALENDAR_KEPT_BUCKETS:
        return _calendar_kept(zone, start, end, bucket)
    return _calendar_computed(zone, start, end, bucket)


def _calendar_computed(zone: str, start: date, end: date, bucket: BucketSize) -> tuple[tuple, tuple]:
    edges = bucket_edges(zone=zone, start=start, end=end, bucket=bucket)
    return tuple(edges), tuple(_local_starts(edges, zone))


_calendar_kept = functools.lru_cache(maxsize=_CALENDARS_KEPT)(_calendar_computed)


def _local_starts(edges: list[int], zone: str) -> list[datetime]:
    # fromtimestamp with the zone is a C call (a year of hours: 6 ms, against 23 through an
    # aware epoch plus a timedelta); the starts are whole seconds, exact as a float.
    tz = ZoneInfo(zone)
    return [datetime.fromtimestamp(ms / 1000, tz) for ms in edges[:-1]]


def _figures_read(
    reads: set[tuple[int, str, bool]], edges_by_zone: dict[str, list[int]], bucket: BucketSize
) -> dict[tuple[int, str, bool], _Figures]:
    """The aggregated statistics of each (series, zone, daily table) read: one statement per
    zone and table, for all its series. A series with every bucket filled (the common case)
    takes the statement's columns as they come; the gaps of another are filled in."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for sid, zone, daily in reads:
        groups.setdefault((zone, daily), []).append(sid)
    result = {}
    for (zone, daily), ids in groups.items():
        edges = edges_by_zone[zone]
        n = len(edges) - 1
        one_row_a_bucket = daily and bucket is BucketSize.DAY
        fetched = _aggregate(_TABLES[daily], sorted(ids), edges, grouped=not one_row_a_bucket)
        for sid in ids:
            columns = fetched.get(sid)
            if columns is None:
                result[(sid, zone, daily)] = _Figures.empty(n)
            elif columns[0] == list(range(n)):
                result[(sid, zone, daily)] = _Figures(*columns[1:])
            else:
                one = _Figures.empty(n)
                for name, values in zip(_COLUMNS, columns[1:], strict=True):
                    column = getattr(one, name)
                    for index, value in zip(columns[0], values, strict=True):
                        column[index] = value
                result[(sid, zone, daily)] = one
    return result


_FIGURES_GROUPED = (
    "SUM(t.count)",
    "SUM(t.consumption)",
    "SUM(t.sum) / SUM(t.count)",
    "MIN(t.min)",
    "MAX(t.max)",
    "SUM(t.resets)",
    "SUM(t.steps_back)",
)
_FIGURES_ROWS = ("t.count", "t.consumption", "t.sum / t.count", "t.min", "t.max", "t.resets", "t.steps_back")


def _aggregate(
    table: str, ids: list[int], edges: list[int], *, grouped: bool = True
) -> dict[int, list[list]]:
    """Each series' non-empty buckets [edges[i], edges[i + 1]), summed from `table`'s rows by
    their start, as columns: bucket index, count, consumption, mean, min, max, resets, steps
    back. Not `grouped`: each row is a bucket of its own (days from the daily table), read as
    it is.

    PostgreSQL returns each series' columns as arrays, aggregated over the rows in bucket order,
    and reads them in binary: a row a bucket would be a Python tuple a bucket, and 18,300 of them
    (a year of days of 50 series) cost about a third more to fetch. The order is what a sorted
    subquery gives; the caller does not rely on it (it places values by their bucket index)."""
    figures = _FIGURES_GROUPED if grouped else _FIGURES_ROWS
    group = "GROUP BY t.series_id, b " if grouped else ""
    match, params = ids_match("t.series_id", ids)
    if connection.vendor == "postgresql":
        named = ", ".join(f"{figure} AS f{i}" for i, figure in enumerate(figures))
        arrays = ", ".join(f"array_agg(g.f{i})" for i in range(len(figures)))
        with _binary_cursor() as cursor:
            cursor.execute(
                f"SELECT g.series_id, array_agg(g.b), {arrays} FROM ("
                f"SELECT t.series_id, width_bucket(t.start, %s::int8[]) - 1 AS b, {named} "
                f"FROM {table} t WHERE {match} AND t.start >= %s AND t.start < %s {group}"
                "ORDER BY t.series_id, b) AS g GROUP BY g.series_id",
                ["{" + ",".join(map(str, edges[:-1])) + "}", *params, edges[0], edges[-1]],
            )
            return {sid: columns for sid, *columns in cursor.fetchall()}
    source, bucket_params = rows_source(
        [("b", "int8"), ("lo", "int8"), ("hi", "int8")],
        [(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.series_id, e.b AS b, {', '.join(figures)} FROM ({source}) AS e JOIN {table} t "
            f"ON {match} AND t.start >= e.lo AND t.start < e.hi {group}ORDER BY t.series_id, b",
            [*bucket_params, *params],
        )
        return {
            sid: [list(column) for column in zip(*(row[1:] for row in rows), strict=True)]
            for sid, rows in groupby(cursor.fetchall(), key=itemgetter(0))
        }


def _binary_cursor():
    """A cursor on Django's PostgreSQL connection (its transaction, its query logging) that
    binds parameters on the server and reads results in binary: Django's own cursors bind on
    the client and read text, and formatting and parsing the floats of 18,300 daily rows as
    text took 30 ms of the 47 a read of 50 series' year cost, against 17 in binary. The
    statement is also prepared by the server after a few runs (its text does not change with
    the buckets, which are a parameter)."""
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    raw.format = psycopg.pq.Format.BINARY
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def _combined(
    starts: list[datetime], edges: list[int], parts: list[tuple[float, _Figures]]
) -> SeriesStatistics:
    """A virtual series' buckets from its stored sources' figures (see StatisticsBucket): `count`
    the sources' samples; `total` the sum of coefficient * total over the sources with a total
    (a source without samples in the bucket consumed nothing there, so daily totals still add up
    to the month's), null when none has one; `mean` the sum of coefficient * mean when every
    source has samples in the bucket (a silent sub-meter's power is unknown, not 0), else null;
    `min` and `max` null: the extremes of a sum are not those of its terms."""
    n = len(starts)
    counts, totals, means = [0] * n, [None] * n, [None] * n
    for i in range(n):
        count, total, mean = 0, None, 0.0
        for coefficient, figures in parts:
            count += figures.count[i]
            if figures.total[i] is not None:
                total = (total or 0.0) + coefficient * figures.total[i]
            if mean is not None:
                mean = None if figures.mean[i] is None else mean + coefficient * figures.mean[i]
        counts[i], totals[i] = count, total
        means[i] = mean if parts and count else None
    return SeriesStatistics(starts, counts, totals, means, *([None] * n for _ in range(4)), edges)
