"""Each stored series' consumption per period and comparison, from the statistics tables in two
aggregate queries: whole days from the daily rows, the comparisons' last days until now's time
of day from the quarter-hours (or the daily row less the quarter-hours after it)."""

import json
from bisect import bisect_left
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, IntegerField, Sum, Value, When

from apps.timeseries.models import DailyStatistics, QuarterHourStatistics

from .periods import cut_comparisons, local_ms, utc_midnight_ms


def period_sums(
    series_zones: dict[int, str], zones: dict[str, dict], now: datetime, current: set[int] = frozenset()
) -> dict[int, dict[tuple[str, str], float]]:
    """Per stored series (id -> its zone), its consumption per (period, comparison): the whole
    days from the daily table, and a comparison's last day until now's time of day T
    (cut_comparisons) from the quarter-hours: two aggregate queries.

    Neither query sums per period: each sums a series' rows per segment, the stretches between
    consecutive edges of every zone's periods (a period is a run of whole segments), and a
    period's figure is the sum of its segments' here. One bucket a row (PostgreSQL's
    width_bucket, else one CASE of plain comparisons), not a CASE per period and zone, and no
    join for the series' zones (known here): with 1,000 series the daily read took 355 ms the
    other way, 60 now. The quarter-hours are read only within each series' own windows (on
    PostgreSQL an index range a (series, window)), not within the windows of every zone: the
    other way read all of every series' quarter-hours (14 s for 10,000,000 rows;
    docs/performance.md, "Console").

    The smaller side of a last day: a day's daily row is the sum of its quarter-hours (both its
    consumption and its count of samples; stats/buckets.py, stats/bulk.py), so when T is past
    the middle of the day, a series in `current` (statistics computed for its kind, interval end
    and zone of now) counts the day's row less its quarter-hours from T to the day's end: at most
    half a day of quarter-hours is read a series and day. The day's row is read with the whole
    days (each cut day a segment of its own). No quarter-hour before T (the day's samples all
    after it) is no figure, as before."""
    if not series_zones:
        return {}
    first = min(start for ranges in zones.values() for start, _ in ranges.values())
    last = max(end for ranges in zones.values() for _, end in ranges.values())
    # Day rows start at a local midnight: a day of margin each side covers every zone's offset.
    low_ms = utc_midnight_ms(first - timedelta(days=1))
    high_ms = utc_midnight_ms(last + timedelta(days=1))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for series_id, zone in series_zones.items():
        by_zone[zone].append(series_id)
    day_periods: dict[str, dict[tuple[str, str], tuple[date, date]]] = {}
    cut_periods: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    # zone -> (day start, T) -> (the day's date, its end): the last days cut at T.
    cut_days: dict[str, dict[tuple[int, int], tuple[date, int]]] = {}
    for zone, ranges in zones.items():
        today = ranges["today", "current"][0]
        cuts = cut_comparisons(today)
        at = now.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
        day_periods[zone], cut_periods[zone], cut_days[zone] = {}, {}, {}
        for key, (start, end) in ranges.items():
            if key in cuts:
                cut = (
                    local_ms(end - timedelta(days=1), time(), zone),
                    local_ms(end - timedelta(days=1), at, zone),
                )
                cut_periods[zone][key] = cut
                cut_days[zone][cut] = (end - timedelta(days=1), local_ms(end, time(), zone))
                end -= timedelta(days=1)
            day_periods[zone][key] = (start, end)
    # The cut days' ends too: each cut day is then a segment of its own, its row read with the
    # whole days (a cut period's trimmed end is already an edge: the cut day's start).
    ends = {day + timedelta(days=1) for days in cut_days.values() for day, _ in days.values()}
    day_edges, cut_edges = sorted(set(_edges(day_periods)) | ends), _edges(cut_periods)
    if connection.vendor == "postgresql":
        day_rows = _day_segments_postgresql(list(series_zones), low_ms, high_ms, day_edges)
    else:
        day_rows = _segments(
            DailyStatistics.objects.filter(
                start__gte=low_ms, start__lt=high_ms, series_id__in=list(series_zones)
            ),
            "day",
            day_edges,
        )
    day_index = {edge: i for i, edge in enumerate(day_edges)}
    days = {(series_id, segment): (total, samples) for series_id, segment, total, samples in day_rows}
    # (series, first ms, end ms) of each quarter-hour range read, and what it stands for: the
    # series' window (day start, T) and whether it is the day's rest after T. A series in
    # `current` without a row for the day has no quarter-hour in it: nothing to read (a year
    # back, most series of a young installation).
    reads: list[tuple[int, int, int]] = []
    meaning: list[tuple[int, tuple[int, int], date | None]] = []
    for zone, ids in by_zone.items():
        for (lo, cut_at), (day, day_end) in sorted(cut_days[zone].items()):
            rest = day_end - cut_at < cut_at - lo
            segment = day_index[day]
            for series_id in ids:
                if series_id not in current:
                    reads.append((series_id, lo, cut_at))
                    meaning.append((series_id, (lo, cut_at), None))
                elif (series_id, segment) not in days:
                    continue
                elif rest:
                    reads.append((series_id, cut_at, day_end))
                    meaning.append((series_id, (lo, cut_at), day))
                else:
                    reads.append((series_id, lo, cut_at))
                    meaning.append((series_id, (lo, cut_at), None))
    if connection.vendor == "postgresql":
        quarter_sums = _window_sums_postgresql(reads)
    else:
        quarter_sums = _window_sums_sqlite(reads)
    cut_segment = {edge: i for i, edge in enumerate(cut_edges)}
    cut_rows = []
    for (series_id, window, day), (total, samples) in zip(meaning, quarter_sums, strict=True):
        if day is None:
            value = total
        else:
            day_total, day_samples = days.get((series_id, day_index[day]), (None, 0))
            # Samples before T (a quarter-hour row there) or none: then no figure, as before.
            before = day_total is not None and day_samples > (samples or 0)
            value = day_total - (total or 0.0) if before else None
        if value is not None:
            cut_rows.append((series_id, cut_segment[window[0]], value))
    result: dict[int, dict] = {}
    day_sums = [(series_id, segment, total) for series_id, segment, total, _ in day_rows]
    for rows, edges, periods in ((day_sums, day_edges, day_periods), (cut_rows, cut_edges, cut_periods)):
        for series_id, figures in _segment_sums(rows, edges, series_zones, periods).items():
            sums = result.setdefault(series_id, {})
            for key, value in figures.items():
                if value is not None:
                    sums[key] = (sums.get(key) or 0.0) + value
                else:
                    sums.setdefault(key, None)
    return result


def _edges(periods: dict[str, dict]) -> list:
    """The sorted edges of every period of every zone (`periods`: zone -> key -> [start, end))."""
    return sorted({edge for spans in periods.values() for span in spans.values() for edge in span})


def _segments(queryset, field: str, edges: list) -> list[tuple[int, int, float | None, int | None]]:
    """(series id, segment, consumption, samples) of `queryset`'s rows summed per series and
    segment: segment i is [edges[i], edges[i + 1]) of `field`, -1 outside the edges."""
    segment = Case(
        When(**{f"{field}__lt": edges[0]}, then=Value(-1)),
        *(When(**{f"{field}__lt": edge}, then=Value(i)) for i, edge in enumerate(edges[1:])),
        default=Value(-1),
        output_field=IntegerField(),
    )
    return list(
        queryset.order_by()
        .annotate(segment=segment)
        .values("series_id", "segment")
        .annotate(total=Sum("consumption"), samples=Sum("count"))
        .values_list("series_id", "segment", "total", "samples")
    )


def _window_sums_sqlite(reads: list[tuple[int, int, int]]) -> list[tuple[float | None, int | None]]:
    """(consumption, samples) of each (series, first ms, end ms) of `reads`' quarter-hours, in
    their order: one join with the list (as JSON), grouped by its position. Run for an empty
    list too, so that the overview's count of queries does not depend on the data."""
    quarters = QuarterHourStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.key, SUM(q.consumption), SUM(q.count) FROM json_each(%s) w "
            f"JOIN {quarters} q ON q.series_id = json_extract(w.value, '$[0]') "
            "AND q.start >= json_extract(w.value, '$[1]') AND q.start < json_extract(w.value, '$[2]') "
            "GROUP BY w.key",
            [json.dumps(reads)],
        )
        found = {key: (total, samples) for key, total, samples in cursor.fetchall()}
    return [found.get(i, (None, None)) for i in range(len(reads))]


def _day_segments_postgresql(series_ids, low_ms, high_ms, day_edges):
    """`_segments` of the days on PostgreSQL: a day's segment by width_bucket (a binary search;
    from the last edge on it is len(edges) - 1, which no period holds), the ids as an array
    parameter (psycopg formats an IN list parameter by parameter)."""
    days = DailyStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT series_id, width_bucket(day, %s::date[]) - 1, SUM(consumption), SUM(count) FROM {days} "
            "WHERE series_id = ANY(%s::bigint[]) AND start >= %s AND start < %s GROUP BY 1, 2",
            [_array(map(str, day_edges)), _array(map(str, series_ids)), low_ms, high_ms],
        )
        return cursor.fetchall()


def _window_sums_postgresql(reads: list[tuple[int, int, int]]) -> list[tuple[float | None, int | None]]:
    """`_window_sums_sqlite` on PostgreSQL: the ranges as array parameters, summed one by one, an
    index range scan each (no aggregate over all the rows read: a third faster)."""
    quarters = QuarterHourStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.total, s.samples FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
            "WITH ORDINALITY AS w(sid, lo, hi, n) CROSS JOIN LATERAL "
            f"(SELECT SUM(q.consumption) AS total, SUM(q.count) AS samples FROM {quarters} q "
            "WHERE q.series_id = w.sid AND q.start >= w.lo AND q.start < w.hi) s ORDER BY w.n",
            [_array(str(read[i]) for read in reads) for i in range(3)],
        )
        return cursor.fetchall()


def _array(items) -> str:
    return "{" + ",".join(items) + "}"


def _segment_sums(rows, edges: list, series_zones: dict[int, str], periods: dict[str, dict]):
    """Each series' consumption per period of its zone (`periods`: zone -> key -> [start, end))
    from its segments' sums (`rows`, as `_segments` gives them): series id -> key -> sum (None:
    no row with a consumption in the period), for the series with rows (every key of its zone
    listed)."""
    by_series: dict[int, dict[int, float | None]] = defaultdict(dict)
    for series_id, segment, total in rows:
        by_series[series_id][segment] = total
    spans = {
        zone: {
            key: range(bisect_left(edges, start), bisect_left(edges, end))
            for key, (start, end) in keys.items()
        }
        for zone, keys in periods.items()
    }
    result = {}
    for series_id, segments in by_series.items():
        figures = {}
        for key, indexes in spans.get(series_zones[series_id], {}).items():
            values = [segments[i] for i in indexes if segments.get(i) is not None]
            figures[key] = sum(values) if values else None
        result[series_id] = figures
    return result
