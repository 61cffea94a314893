"""Bring the statistics of changed sample ranges up to date, in SQL, from the samples.

The one path that is right for every change (overwrites, deletions, retention, a kind or zone
changed): the quarter-hours holding a changed range are computed again from their samples, and
so is the first non-empty quarter-hour after it (its first increment reaches back to the range's
last sample); then the local days holding any of those quarter-hours are summed again from
them. Callers hold the series locks (`store.series_lock`) and call this in the transaction of
the change, so the statistics commit with the samples or not at all.

The same statements run on PostgreSQL and SQLite: the ranges and days travel as arrays
(`unnest`) or as JSON (`json_each`), and the counter rule is spelled with window functions both
know. Per-row work stays in the database: nothing here reads samples into Python.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from ..sql import ids_match
from .calendar import QUARTER_MS, bucket_shift, local_days, quarter_start

# A counter's increment b - a is a reset (the register counts again from 0: the increment is b)
# when b < RESET_RATIO * a; a smaller step back is a negative increment (docs/energy.md).
RESET_RATIO = 0.9
_FAR = 2**62
# Marks the statements of the statistics' upkeep (query captures, pg_stat_statements).
TAG = "/* statistics */"
# Touched quarter-hours of a series this far apart have their days found separately.
_DAY_CLUSTER_GAP_MS = 2 * 86_400_000


@dataclass(frozen=True, slots=True)
class SeriesCalendar:
    """What decides where a series' samples are counted and what they add up to."""

    kind: str
    shift: int
    zone: str


def series_calendars(series_ids: Iterable[int]) -> dict[int, SeriesCalendar]:
    """Kind, bucket shift and zone (site's, else organization's) of each series, in one query."""
    ids = list(series_ids)
    if not ids:
        return {}
    match, params = ids_match("s.id", ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} SELECT s.id, s.kind, s.interval_end, COALESCE(site.time_zone, o.time_zone) "
            "FROM timeseries_series s JOIN tenancy_organization o ON o.id = s.organization_id "
            f"LEFT JOIN tenancy_site site ON site.id = s.site_id WHERE {match}",
            params,
        )
        return {
            sid: SeriesCalendar(kind, bucket_shift(kind=kind, interval_end=bool(end)), zone)
            for sid, kind, end, zone in cursor.fetchall()
        }


def rows_source(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence]) -> tuple[str, list]:
    """A SELECT yielding `rows` with the named, typed columns ((name, "int8" | "text"), ...): one
    parameter per column on PostgreSQL (arrays), one JSON parameter on SQLite."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{type_}[]" for _, type_ in columns)
        names = ", ".join(name for name, _ in columns)
        return f"SELECT * FROM unnest({arrays}) AS r({names})", [
            list(column) for column in zip(*rows, strict=True)
        ]
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    return f"SELECT {picks} FROM json_each(%s)", [json.dumps([list(row) for row in rows], default=str)]


def _quarter_sql(column: str) -> str:
    # Floor to the quarter-hour with integer SQL only (see query._period_start).
    return f"({column} - ((({column}) %% {QUARTER_MS}) + {QUARTER_MS}) %% {QUARTER_MS})"


def statistics_recompute(ranges: Sequence[tuple[int, int, int]]) -> None:
    """Recompute the statistics of each (series_id, lo_ms, hi_ms): every quarter-hour holding a
    sample time in [lo_ms, hi_ms], the next quarter-hour with samples, and their local days.

    A series may appear more than once; a range may hold no samples at all (a deletion).
    """
    # Deletions may name the whole int8 line; no sample the store accepts lies near its ends.
    ranges = [(sid, max(lo, -_FAR), min(hi, _FAR)) for sid, lo, hi in ranges if lo <= hi]
    if not ranges:
        return
    calendars = series_calendars({sid for sid, _, _ in ranges})
    ranges = [r for r in ranges if r[0] in calendars]  # deleted meanwhile
    quarters = _quarter_ranges(ranges, calendars)
    if not quarters:
        return
    touched = _quarters_write(quarters, calendars)
    _days_write(touched, calendars)


def _quarter_ranges(
    ranges: Sequence[tuple[int, int, int]], calendars: dict[int, SeriesCalendar]
) -> list[tuple[int, int, int, int]]:
    """(series_id, scan_from_ts, first_quarter, end_quarter) per range: the quarter-hours
    [first_quarter, end_quarter) to recompute, extended to the next quarter-hour with samples,
    and the sample time to read from (the last sample before them, whose value the first
    increment needs). One statement probes the primary key twice per range."""
    bounds = []
    for sid, lo, hi in ranges:
        shift = calendars[sid].shift
        first = quarter_start(lo - shift)
        end = quarter_start(hi - shift) + QUARTER_MS
        bounds.append((sid, first + shift, end + shift))
    source, params = rows_source([("series_id", "int8"), ("lo", "int8"), ("hi", "int8")], bounds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} SELECT r.series_id, r.lo, r.hi, "
            "(SELECT MAX(s.ts) FROM timeseries_sample s WHERE s.series_id = r.series_id AND s.ts < r.lo), "
            "(SELECT MIN(s.ts) FROM timeseries_sample s WHERE s.series_id = r.series_id AND s.ts >= r.hi) "
            f"FROM ({source}) AS r",
            params,
        )
        probed = cursor.fetchall()
    quarters = []
    for sid, lo, hi, before, after in probed:
        sid, lo, hi = int(sid), int(lo), int(hi)
        shift = calendars[sid].shift
        end = hi - shift if after is None else quarter_start(int(after) - shift) + QUARTER_MS
        quarters.append((sid, lo if before is None else int(before), lo - shift, end))
    return _merged(quarters)


def _merged(quarters: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The ranges with those of one series that overlap or touch joined, so that no quarter-hour
    is written twice."""
    merged: list[tuple[int, int, int, int]] = []
    for sid, scan, first, end in sorted(quarters, key=lambda q: (q[0], q[2])):
        if merged and merged[-1][0] == sid and first <= merged[-1][3]:
            previous = merged[-1]
            merged[-1] = (sid, min(previous[1], scan), previous[2], max(previous[3], end))
        else:
            merged.append((sid, scan, first, end))
    return merged


_INCREMENT = f"""CASE WHEN prev IS NULL THEN NULL
    WHEN prev > 0 AND value < {RESET_RATIO} * prev THEN value ELSE value - prev END"""
_RESET = f"CASE WHEN prev > 0 AND value < {RESET_RATIO} * prev THEN 1 ELSE 0 END"
_STEP_BACK = f"CASE WHEN value < prev AND NOT (prev > 0 AND value < {RESET_RATIO} * prev) THEN 1 ELSE 0 END"


def _quarters_write(
    quarters: list[tuple[int, int, int, int]], calendars: dict[int, SeriesCalendar]
) -> dict[int, set[int]]:
    """Delete and insert the quarter-hours' rows; returns the starts of those that had or have a
    row, per series (their days change)."""
    rows = [
        (sid, scan, first, end, calendars[sid].shift, calendars[sid].kind)
        for sid, scan, first, end in quarters
    ]
    columns = [
        ("series_id", "int8"),
        ("scan", "int8"),
        ("first_q", "int8"),
        ("end_q", "int8"),
        ("shift", "int8"),
        ("kind", "text"),
    ]
    source, params = rows_source(columns, rows)
    bucket = _quarter_sql("x.ts - r.shift")
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} DELETE FROM timeseries_stats_quarter WHERE EXISTS (SELECT 1 FROM ({source}) AS r "
            "WHERE r.series_id = timeseries_stats_quarter.series_id "
            "AND timeseries_stats_quarter.start >= r.first_q AND timeseries_stats_quarter.start < r.end_q) "
            "RETURNING series_id, start",
            params,
        )
        touched: dict[int, set[int]] = {}
        for sid, start in cursor.fetchall():
            touched.setdefault(sid, set()).add(start)
        cursor.execute(
            f"""{TAG}
            WITH r AS ({source}),
            s AS (
                SELECT x.series_id, x.ts, x.value, r.kind, r.first_q, {bucket} AS bucket,
                       LAG(x.value) OVER w AS prev,
                       LAG({bucket}) OVER w AS prev_bucket,
                       LEAD({bucket}) OVER w AS next_bucket
                FROM r JOIN timeseries_sample x
                  ON x.series_id = r.series_id AND x.ts >= r.scan AND x.ts < r.end_q + r.shift
                WINDOW w AS (PARTITION BY x.series_id, r.first_q ORDER BY x.ts)
            )
            INSERT INTO timeseries_stats_quarter (series_id, start, count, sum, min, max, first_ts,
                first_value, last_ts, last_value, consumption, resets, steps_back)
            SELECT series_id, bucket, COUNT(*), SUM(value), MIN(value), MAX(value), MIN(ts),
                SUM(CASE WHEN prev_bucket IS NULL OR prev_bucket <> bucket THEN value END), MAX(ts),
                SUM(CASE WHEN next_bucket IS NULL OR next_bucket <> bucket THEN value END),
                CASE MIN(kind) WHEN 'counter' THEN COALESCE(SUM({_INCREMENT}), 0)
                    WHEN 'interval' THEN SUM(value) END,
                CASE MIN(kind) WHEN 'counter' THEN SUM({_RESET}) ELSE 0 END,
                CASE MIN(kind) WHEN 'counter' THEN SUM({_STEP_BACK}) ELSE 0 END
            FROM s WHERE bucket >= first_q GROUP BY series_id, bucket
            RETURNING series_id, start
            """,
            params,
        )
        for sid, start in cursor.fetchall():
            touched.setdefault(sid, set()).add(start)
    return touched


def _days_write(touched: dict[int, set[int]], calendars: dict[int, SeriesCalendar]) -> None:
    """Sum the local days holding the touched quarter-hours again from the quarter-hour rows.
    The days are found around the touched quarter-hours, cluster by cluster, so that a range
    with little data over a long time costs what its data costs."""
    days = set()
    for sid, starts in touched.items():
        zone = calendars[sid].zone
        ordered = sorted(starts)
        low = ordered[0]
        for previous, current in zip(ordered, [*ordered[1:], None], strict=True):
            if current is None or current - previous > _DAY_CLUSTER_GAP_MS:
                for start, end, day in local_days(zone=zone, start_ms=low, end_ms=previous + QUARTER_MS):
                    days.add((sid, start, end, day))
                low = current
    if not days:
        return
    source, params = rows_source(
        [("series_id", "int8"), ("d_start", "int8"), ("d_end", "int8"), ("day", "text")],
        [(sid, start, end, day.isoformat()) for sid, start, end, day in sorted(days)],
    )
    edge = "q.series_id = d.series_id AND q.start >= d.d_start AND q.start < d.d_end"
    day = "CAST(d.day AS date)" if connection.vendor == "postgresql" else "d.day"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} DELETE FROM timeseries_stats_day WHERE EXISTS (SELECT 1 FROM ({source}) AS d "
            "WHERE d.series_id = timeseries_stats_day.series_id AND d.d_start = timeseries_stats_day.start)",
            params,
        )
        cursor.execute(
            f"""{TAG}
            WITH d AS ({source})
            INSERT INTO timeseries_stats_day (series_id, start, day, count, sum, min, max, first_ts,
                first_value, last_ts, last_value, consumption, resets, steps_back)
            SELECT d.series_id, d.d_start, {day}, SUM(q.count), SUM(q.sum), MIN(q.min),
                MAX(q.max), MIN(q.first_ts),
                (SELECT q.first_value FROM timeseries_stats_quarter q WHERE {edge} ORDER BY q.start LIMIT 1),
                MAX(q.last_ts),
                (SELECT q.last_value FROM timeseries_stats_quarter q WHERE {edge}
                 ORDER BY q.start DESC LIMIT 1),
                SUM(q.consumption), SUM(q.resets), SUM(q.steps_back)
            FROM d JOIN timeseries_stats_quarter q ON {edge}
            GROUP BY d.series_id, d.d_start, d.d_end, d.day
            """,
            params,
        )
