"""The store's reads: sample ranges (paged), per-period rollups, calendar buckets, latest values.
(A window's rollups, whole or a page at a time, are in rollup.py, which shares the helpers here.)

Everything here is hand-written SQL over `timeseries_sample`, for three reasons the ORM cannot
meet: the sample model has a composite key and is never loaded as model instances; rollups need
integer flooring, window functions and joins back on the primary key that Django expressions
would spell slower or not at all; and the same statement must run on PostgreSQL and SQLite, so
the results (epoch alignment, deltas, paging) are identical on both. No function loads a whole
history into Python: ranges are paged in SQL and rollups are aggregated there.

Times are integer epoch milliseconds (UTC) throughout; converting to a dialect's seconds or
flooring `t` to whole seconds is the dialect's job.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection

from apps.core import time as clock


class SampleRow(NamedTuple):
    """One stored sample; a tuple, so `ts, value, quality = row` works too."""

    ts: int
    value: float
    quality: int | None


class Rollup(NamedTuple):
    """One series' samples over one epoch-aligned period [period_end_ms - P, period_end_ms).

    `value` is the value of the last sample in the period (at `last_ts`); `delta` is `value`
    minus the previous record's `value` (0 for the first record of the requested window).

    A tuple, not a frozen dataclass: a history page builds thousands of them, and a frozen
    dataclass takes three times as long to construct (1,440 records: 3.0 ms against 1.0 ms).
    """

    period_end_ms: int
    last_ts: int
    value: float
    delta: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class Bucket:
    """One series' samples over one calendar bucket [start_ms, end_ms) (a local day or month)."""

    start_ms: int
    end_ms: int
    last_ts: int
    value: float
    min: float
    max: float
    count: int


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _period_start(column: str, period: str = "%s") -> str:
    # Floor to a multiple of the period (a bound parameter, `period` its placeholder). `/` and
    # `%` truncate towards zero on both databases, so `ts - ts % P` would put negative times in
    # the wrong period; the double modulo gives the non-negative remainder, i.e. floor
    # semantics, with integer SQL only.
    return f"({column} - (({column} %% {period}) + {period}) %% {period})"


def _check_paging(offset: int, limit: int | None) -> None:
    if offset < 0:
        raise ValueError("offset must not be negative")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")


def samples_page(
    *, series_id: int, start_ms: int, end_ms: int, offset: int = 0, limit: int, total: int | None = None
) -> list[SampleRow]:
    """One page of a series' samples in [start_ms, end_ms), oldest first.

    Hand-written SQL: a range scan of the primary key returning tuples instead of model
    instances (the sample table has no surrogate key and is never ORM-loaded). Callers with an
    inclusive end pass `end + 1`.

    A page past the first is found in two steps: the page's first timestamp is the `offset`-th
    key of the range, counted in the primary-key index alone (an index-only scan, when the
    table is vacuumed), then the page is read from there. A plain OFFSET would read and discard
    every earlier row from the table itself: for the last 1,000-row page of a 100,000-sample
    range, 9.0 ms against 6.3 ms of SQL, the gap growing with the page number.

    A caller that knows the range's `total` (`samples_count`, as a paged API reports it) lets
    the first key be counted from the nearer end of the range: the last pages of a long range
    then cost what the first ones do (the last 1,000 of 100,000 samples: 12 -> 1 ms of SQL on
    the benchmark machine), and no page scans more than half the range.
    """
    _check_paging(offset, limit)
    sql = "SELECT ts, value, quality FROM timeseries_sample WHERE series_id = %s AND ts >= %s AND ts < %s"
    params = [series_id, start_ms, end_ms]
    if total is not None and offset >= total:
        return []
    if offset:
        from_end = total is not None and offset > total // 2
        sql += (
            " AND ts >= (SELECT ts FROM timeseries_sample"
            " WHERE series_id = %s AND ts >= %s AND ts < %s"
            f" ORDER BY ts{' DESC' if from_end else ''} LIMIT 1 OFFSET %s)"
        )
        params += [series_id, start_ms, end_ms, total - 1 - offset if from_end else offset]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY ts LIMIT %s", [*params, limit])
        return [SampleRow._make(row) for row in cursor.fetchall()]


def samples_latest(*, series_id: int, limit: int) -> list[SampleRow]:
    """The newest `limit` samples of a series, newest first: a backward scan of the primary key
    that stops after `limit` rows, however long the history."""
    _check_paging(0, limit)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value, quality FROM timeseries_sample WHERE series_id = %s ORDER BY ts DESC LIMIT %s",
            [series_id, limit],
        )
        return [SampleRow._make(row) for row in cursor.fetchall()]


def samples_count(*, series_id: int, start_ms: int, end_ms: int) -> int:
    """How many samples a series has in [start_ms, end_ms) (a page's total).

    Hand-written SQL for the same reason as `samples_page`: the count is answered from the
    primary key's range, never by loading rows.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM timeseries_sample WHERE series_id = %s AND ts >= %s AND ts < %s",
            [series_id, start_ms, end_ms],
        )
        return cursor.fetchone()[0]


def samples_after(
    *,
    series_id: int,
    start_ms: int | None = None,
    end_ms: int | None = None,
    after_ts: int | None = None,
    limit: int,
) -> list[SampleRow]:
    """Up to `limit` samples of a series with ts > `after_ts`, within [start_ms, end_ms), oldest first.

    Keyset pagination for cursor paging: the next page starts after the last `ts` of the
    previous one, so its cost does not grow with the page number (OFFSET would scan and skip
    every earlier row) and pages stay stable while new samples arrive. Hand-written SQL so the
    condition stays a plain range on the primary key. Any bound may be None (unbounded).
    """
    _check_paging(0, limit)
    conditions = ["series_id = %s"]
    params: list[int] = [series_id]
    for condition, bound in (("ts >= %s", start_ms), ("ts < %s", end_ms), ("ts > %s", after_ts)):
        if bound is not None:
            conditions.append(condition)
            params.append(bound)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts, value, quality FROM timeseries_sample WHERE {' AND '.join(conditions)}"
            " ORDER BY ts LIMIT %s",
            [*params, limit],
        )
        return [SampleRow._make(row) for row in cursor.fetchall()]


def rollups_latest(
    *, series_ids: Sequence[int], period_ms: int, now_ms: int | None = None
) -> dict[int, Rollup]:
    """Each series' latest rollup: the period holding its newest sample at or before `now_ms`
    (default now; a sample dated later is stored but not current yet, as for realtime values).

    The delta is relative to the last sample before that period (the value of the previous
    period that has samples), 0 when there is none. Series without samples are left out.

    One hand-written statement: per series the newest ts and the previous value are index-only
    probes of the primary key (MAX and ORDER BY ... LIMIT 1 read one entry each), and the
    period's min/max/value come from one range scan, so the cost does not depend on the length
    of the history. The newest ts is read from the samples, not from `Series.last_ts`, so the
    record stays right after samples are deleted by range.
    """
    if period_ms <= 0:
        raise ValueError("period_ms must be positive")
    ids = list(dict.fromkeys(series_ids))
    if not ids:
        return {}
    # PostgreSQL would otherwise inline the CTE and repeat the newest-ts probe at every use of
    # it (about ten per series: 4x slower for 1,000 series). SQLite only knows the keyword from
    # 3.35 on, above Django's minimum.
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    sql = f"""
        WITH newest AS {materialized} (
            SELECT series.id AS series_id,
                   (SELECT MAX(x.ts) FROM timeseries_sample AS x
                    WHERE x.series_id = series.id AND x.ts <= %s) AS last_ts
            FROM timeseries_series AS series
            WHERE series.id IN ({_placeholders(len(ids))})
        ),
        latest_period AS (
            SELECT series_id, last_ts, {_period_start("last_ts")} AS period_start
            FROM newest
            WHERE last_ts IS NOT NULL
        )
        SELECT lp.series_id, lp.period_start + %s, lp.last_ts,
               MAX(CASE WHEN s.ts = lp.last_ts THEN s.value END) AS value,
               (SELECT x.value FROM timeseries_sample AS x
                WHERE x.series_id = lp.series_id AND x.ts < lp.period_start
                ORDER BY x.ts DESC LIMIT 1) AS previous_value,
               MIN(s.value), MAX(s.value)
        FROM latest_period AS lp
        JOIN timeseries_sample AS s
          ON s.series_id = lp.series_id AND s.ts >= lp.period_start AND s.ts <= lp.last_ts
        GROUP BY lp.series_id, lp.period_start, lp.last_ts
    """
    now_ms = clock.now_ms() if now_ms is None else now_ms
    result: dict[int, Rollup] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [now_ms, *ids, period_ms, period_ms, period_ms, period_ms])
        for series_id, period_end, last_ts, value, previous, min_value, max_value in cursor.fetchall():
            delta = 0.0 if previous is None else value - previous
            result[series_id] = Rollup(period_end, last_ts, value, delta, min_value, max_value)
    return result


def rollups_by_edges(*, series_id: int, edges_ms: Sequence[int]) -> list[Bucket]:
    """A series' samples bucketed by ascending UTC edges: [e0, e1), [e1, e2), ...

    For calendar buckets (local days, months) whose length varies, with edges from
    `local_day_edges` / `local_month_edges`. Buckets without samples are left out.

    Hand-written SQL: the edges travel as a VALUES list joined by range to the primary key,
    the same statement on both databases; the last value of each bucket is a primary-key
    lookup. Grouping by a computed bucket is what the ORM cannot do without loading rows.
    """
    edges = list(edges_ms)
    if any(b <= a for a, b in pairwise(edges)):
        raise ValueError("edges must be strictly ascending")
    bounds = list(pairwise(edges))
    if not bounds:
        return []
    # The casts type the VALUES columns as bigint also when parameters are bound server-side.
    values = ", ".join(["(CAST(%s AS bigint), CAST(%s AS bigint))"] * len(bounds))
    sql = f"""
        WITH edges (start_ms, end_ms) AS (VALUES {values}),
        buckets AS (
            SELECT e.start_ms, e.end_ms, MAX(s.ts) AS last_ts, MIN(s.value) AS min_value,
                   MAX(s.value) AS max_value, COUNT(*) AS n
            FROM edges AS e
            JOIN timeseries_sample AS s
              ON s.series_id = %s AND s.ts >= e.start_ms AND s.ts < e.end_ms
            GROUP BY e.start_ms, e.end_ms
        )
        SELECT b.start_ms, b.end_ms, b.last_ts, s.value, b.min_value, b.max_value, b.n
        FROM buckets AS b
        JOIN timeseries_sample AS s ON s.series_id = %s AND s.ts = b.last_ts
        ORDER BY b.start_ms
    """
    params = [edge for bound in bounds for edge in bound] + [series_id, series_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Bucket(*row) for row in cursor.fetchall()]


def _local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    # fold=0 puts a midnight that falls in a DST gap at the transition (where the day starts)
    # and an ambiguous midnight at its first occurrence.
    return clock.datetime_to_ms(datetime.combine(day, time(0), tzinfo=zone))


def local_day_edges(*, tz: str, start: date, end: date) -> list[int]:
    """UTC edges (epoch ms) of the local days `start` up to but not including `end` in `tz`.

    One edge per local midnight, from `start` through `end`: n days give n + 1 edges, and a
    day is 23 or 25 hours long across a daylight-saving change. Empty when `end <= start`.
    """
    if end <= start:
        return []
    zone = ZoneInfo(tz)
    return [_local_midnight_ms(start + timedelta(days=i), zone) for i in range((end - start).days + 1)]


def local_month_edges(*, tz: str, start: date, end: date) -> list[int]:
    """UTC edges (epoch ms) of the local months in `tz` that hold any day of [start, end).

    The first edge is local midnight of the first of `start`'s month, the last that of the first
    of the month after the one holding `end - 1 day`. Empty when `end <= start`.
    """
    if end <= start:
        return []
    zone = ZoneInfo(tz)
    last = end - timedelta(days=1)
    months = (last.year - start.year) * 12 + last.month - start.month + 1
    firsts = [
        date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(months + 1)
    ]
    return [_local_midnight_ms(first, zone) for first in firsts]
