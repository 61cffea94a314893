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

import itertools
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
# No range's next quarter-hour with samples is looked for past this (int8 room left for shifts).
_CAP = 2**63 - 4 * QUARTER_MS
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
    interval_end: bool = False


# The columns (of timeseries_series s and its joins) that `calendar_of` reads: the series lock
# reads them with the same statement (write_order.series_lock_calendars).
CALENDAR_COLUMNS = "s.kind, s.interval_end, COALESCE(site.time_zone, o.time_zone)"
CALENDAR_JOINS = (
    "JOIN tenancy_organization o ON o.id = s.organization_id "
    "LEFT JOIN tenancy_site site ON site.id = s.site_id"
)


def calendar_of(kind: str, interval_end, zone: str) -> SeriesCalendar:
    return SeriesCalendar(
        kind, bucket_shift(kind=kind, interval_end=bool(interval_end)), zone, bool(interval_end)
    )


def series_calendars(series_ids: Iterable[int]) -> dict[int, SeriesCalendar]:
    """Kind, bucket shift and zone (site's, else organization's) of each series, in one query."""
    ids = list(series_ids)
    if not ids:
        return {}
    match, params = ids_match("s.id", ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} SELECT s.id, {CALENDAR_COLUMNS} FROM timeseries_series s {CALENDAR_JOINS} WHERE {match}",
            params,
        )
        return {row[0]: calendar_of(*row[1:]) for row in cursor.fetchall()}


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


def statistics_recompute(
    ranges: Sequence[tuple[int, int, int]],
    *,
    calendars: dict[int, SeriesCalendar] | None = None,
    grows: bool = False,
) -> None:
    """Recompute the statistics of each (series_id, lo_ms, hi_ms): every quarter-hour holding a
    sample time in [lo_ms, hi_ms], the next quarter-hour with samples, and their local days.

    A series may appear more than once; a range may hold no samples at all (a deletion).
    `calendars`: the series' calendars when the caller has them (read with the lock), else
    read here. `grows`: the change only added or replaced samples (a store write), so no bucket
    lost its last sample and the rows are upserted without a DELETE first.
    """
    # Deletions may name the whole int8 line; no sample the store accepts lies near its ends.
    ranges = [(sid, max(lo, -_FAR), min(hi, _FAR)) for sid, lo, hi in ranges if lo <= hi]
    if not ranges:
        return
    if calendars is None:
        calendars = series_calendars({sid for sid, _, _ in ranges})
    ranges = [r for r in ranges if r[0] in calendars]  # deleted meanwhile
    if not ranges:
        return
    touched = _quarters_write(_quarter_ranges(ranges, calendars), calendars, grows=grows)
    _days_write(touched, calendars, grows=grows)


def _quarter_ranges(
    ranges: Sequence[tuple[int, int, int]], calendars: dict[int, SeriesCalendar]
) -> list[tuple[int, int, int, int]]:
    """(series_id, first_quarter, end_quarter, cap) per range: the quarter-hours [first_quarter,
    end_quarter) holding the range, those of one series that overlap or touch joined (no
    quarter-hour is computed twice), and where the search for the next quarter-hour with samples
    stops: the next range of the series, which computes that one itself."""
    quarters: list[list[int]] = []
    for sid, lo, hi in sorted(ranges):
        shift = calendars[sid].shift
        first, end = quarter_start(lo - shift), quarter_start(hi - shift) + QUARTER_MS
        if quarters and quarters[-1][0] == sid and first <= quarters[-1][2]:
            quarters[-1][2] = max(quarters[-1][2], end)
        else:
            quarters.append([sid, first, end, _CAP])
    for previous, current in itertools.pairwise(quarters):
        if previous[0] == current[0]:
            previous[3] = current[1]
    return [tuple(q) for q in quarters]


_INCREMENT = f"""CASE WHEN prev IS NULL THEN NULL
    WHEN prev > 0 AND value < {RESET_RATIO} * prev THEN value ELSE value - prev END"""
_RESET = f"CASE WHEN prev > 0 AND value < {RESET_RATIO} * prev THEN 1 ELSE 0 END"
_STEP_BACK = f"CASE WHEN value < prev AND NOT (prev > 0 AND value < {RESET_RATIO} * prev) THEN 1 ELSE 0 END"


# The figure columns of a statistics row after (series_id, start), in table order: the recompute
# here, the merge of an append (append.py) and the COPY of new data (bulk.py) write the same ones.
FIGURES = (
    "count",
    "sum",
    "min",
    "max",
    "first_ts",
    "first_value",
    "last_ts",
    "last_value",
    "consumption",
    "resets",
    "steps_back",
)
_FIGURES = ", ".join(FIGURES)
_UPSERT = "ON CONFLICT (series_id, start) DO UPDATE SET " + ", ".join(
    f"{column} = excluded.{column}" for column in FIGURES
)


def _quarters_write(
    quarters: list[tuple[int, int, int, int]], calendars: dict[int, SeriesCalendar], *, grows: bool
) -> dict[int, set[int]]:
    """Write the quarter-hours' rows; returns the starts of those that had or have a row, per
    series (their days change).

    One statement finds each range's scan start (the last sample before it, whose value the
    first increment needs) and its end (past the next quarter-hour with samples, before the
    series' next range), computes the figures and upserts them. After a deletion the range's
    old rows go first: a quarter-hour that lost its last sample has no row."""
    rows = [
        (sid, first, end, cap, calendars[sid].shift, calendars[sid].kind) for sid, first, end, cap in quarters
    ]
    columns = [
        ("series_id", "int8"),
        ("first_q", "int8"),
        ("raw_end", "int8"),
        ("cap", "int8"),
        ("shift", "int8"),
        ("kind", "text"),
    ]
    source, params = rows_source(columns, rows)
    touched: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        if not grows:
            cursor.execute(
                f"{TAG} DELETE FROM timeseries_stats_quarter WHERE EXISTS (SELECT 1 FROM ({source}) AS r "
                "WHERE r.series_id = timeseries_stats_quarter.series_id "
                "AND timeseries_stats_quarter.start >= r.first_q "
                "AND timeseries_stats_quarter.start < r.raw_end) "
                "RETURNING series_id, start",
                params,
            )
            for sid, start in cursor.fetchall():
                touched.setdefault(sid, set()).add(start)
        bucket = _quarter_sql("x.ts - r.shift")
        following = _quarter_sql("p.next_ts - p.shift")
        cursor.execute(
            f"""{TAG}
            WITH b AS ({source}),
            p AS (
                SELECT b.series_id, b.first_q, b.raw_end, b.shift, b.kind,
                    COALESCE((SELECT MAX(x.ts) FROM timeseries_sample x WHERE x.series_id = b.series_id
                        AND x.ts < b.first_q + b.shift), b.first_q + b.shift) AS scan,
                    (SELECT MIN(x.ts) FROM timeseries_sample x WHERE x.series_id = b.series_id
                        AND x.ts >= b.raw_end + b.shift AND x.ts < b.cap + b.shift) AS next_ts
                FROM b
            ),
            r AS (
                SELECT series_id, first_q, shift, kind, scan,
                    CASE WHEN next_ts IS NULL THEN raw_end ELSE {following} + {QUARTER_MS} END AS end_q
                FROM p
            ),
            s AS (
                SELECT x.series_id, x.ts, x.value, r.kind, r.first_q, {bucket} AS bucket,
                       LAG(x.value) OVER w AS prev,
                       LAG({bucket}) OVER w AS prev_bucket,
                       LEAD({bucket}) OVER w AS next_bucket
                FROM r JOIN timeseries_sample x
                  ON x.series_id = r.series_id AND x.ts >= r.scan AND x.ts < r.end_q + r.shift
                WINDOW w AS (PARTITION BY x.series_id, r.first_q ORDER BY x.ts)
            )
            INSERT INTO timeseries_stats_quarter (series_id, start, {_FIGURES})
            SELECT series_id, bucket, COUNT(*), SUM(value), MIN(value), MAX(value), MIN(ts),
                SUM(CASE WHEN prev_bucket IS NULL OR prev_bucket <> bucket THEN value END), MAX(ts),
                SUM(CASE WHEN next_bucket IS NULL OR next_bucket <> bucket THEN value END),
                CASE MIN(kind) WHEN 'counter' THEN COALESCE(SUM({_INCREMENT}), 0)
                    WHEN 'interval' THEN SUM(value) END,
                CASE MIN(kind) WHEN 'counter' THEN SUM({_RESET}) ELSE 0 END,
                CASE MIN(kind) WHEN 'counter' THEN SUM({_STEP_BACK}) ELSE 0 END
            FROM s WHERE bucket >= first_q GROUP BY series_id, bucket
            {_UPSERT}
            RETURNING series_id, start
            """,
            params,
        )
        for sid, start in cursor.fetchall():
            touched.setdefault(sid, set()).add(start)
    return touched


def _days_write(touched: dict[int, set[int]], calendars: dict[int, SeriesCalendar], *, grows: bool) -> None:
    """Sum the local days holding the touched quarter-hours again from the quarter-hour rows.
    The days are found around the touched quarter-hours, cluster by cluster, so that a range
    with little data over a long time costs what its data costs. After a deletion the days go
    first (a day may have lost its last quarter-hour); otherwise they are upserted."""
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
        if not grows:
            cursor.execute(
                f"{TAG} DELETE FROM timeseries_stats_day WHERE EXISTS (SELECT 1 FROM ({source}) AS d "
                "WHERE d.series_id = timeseries_stats_day.series_id "
                "AND d.d_start = timeseries_stats_day.start)",
                params,
            )
        cursor.execute(
            f"""{TAG}
            WITH d AS ({source})
            INSERT INTO timeseries_stats_day (series_id, start, day, {_FIGURES})
            SELECT d.series_id, d.d_start, {day}, SUM(q.count), SUM(q.sum), MIN(q.min),
                MAX(q.max), MIN(q.first_ts),
                (SELECT q.first_value FROM timeseries_stats_quarter q WHERE {edge} ORDER BY q.start LIMIT 1),
                MAX(q.last_ts),
                (SELECT q.last_value FROM timeseries_stats_quarter q WHERE {edge}
                 ORDER BY q.start DESC LIMIT 1),
                SUM(q.consumption), SUM(q.resets), SUM(q.steps_back)
            FROM d JOIN timeseries_stats_quarter q ON {edge}
            WHERE TRUE
            GROUP BY d.series_id, d.d_start, d.d_end, d.day
            {_UPSERT}, day = excluded.day
            """,
            params,
        )
