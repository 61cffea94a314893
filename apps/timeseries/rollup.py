"""Per-period rollups of a window of samples, whole or page by page (the EMS history, charts).

Hand-written SQL over `timeseries_sample`, like the rest of the store's reads (query.py): window
functions over the primary key, a per-series LIMIT and integer flooring are beyond the ORM, and
the statement runs on PostgreSQL and SQLite with the same results.
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from django.db import connection

from .query import Rollup, _check_paging, _period_start


class RollupPage(NamedTuple):
    """One page of one series' rollups, and where it lies among the window's records.

    `first_ts` is the first sample of the page's first record and `next_ts` that of the record
    after the page (None: the page is empty, or the window ends on it). A later page can start
    from either instead of counting the records before it (`rollup_pages(resume=...)`).
    """

    records: list[Rollup]
    first_ts: int | None
    next_ts: int | None


def rollups(
    *,
    series_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    period_ms: int,
    offset: int = 0,
    limit: int | None = None,
) -> dict[int, list[Rollup]]:
    """Per-period rollups of each series over the samples in [start_ms, end_ms), oldest first.

    Period k covers [k·P, (k+1)·P) ms, aligned to the Unix epoch whatever `start_ms` is (floor
    semantics, so negative times too); a period without samples gives no record. `offset` and
    `limit` count records per series, and a record's delta is the same on every page. Every
    requested series is a key of the result (an empty list when it has no record on the page).
    The records of `rollup_pages`, which says how they are found.
    """
    pages = rollup_pages(
        series_ids=series_ids,
        start_ms=start_ms,
        end_ms=end_ms,
        period_ms=period_ms,
        offset=offset,
        limit=limit,
    )
    return {series_id: page.records for series_id, page in pages.items()}


def rollup_pages(
    *,
    series_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    period_ms: int,
    offset: int = 0,
    limit: int | None = None,
    resume: Mapping[int, int] | None = None,
) -> dict[int, RollupPage]:
    """One page of each series' rollups (see `rollups`): what it costs follows what it returns.

    A page is the `limit` records from the `offset`-th on; its samples lie between the first
    sample of its first record and that of the record after it. Both are found in the primary
    key: walking the window's keys in order, a key starts a record when the key before it lies
    in an earlier period (a window function over an index-only scan, stopped by LIMIT), so
    finding a page costs a key per sample before it, never a rollup of the window. `resume`
    maps a series to the first sample of its `offset`-th record when an earlier page told it
    (`RollupPage.first_ts` / `next_ts`): its page is then found from there. When the periods
    the window's samples span from the page's search start are fewer than the records to skip,
    the page is empty after one probe of the key, so a page past the end costs nothing more.

    Only the page's samples are then grouped, by a range scan of the primary key per series (a
    LATERAL subquery on PostgreSQL, so that no estimate can turn it into a scan of the table);
    each record's value and the value before the page are primary-key probes, and the deltas
    are taken in Python from that value on. Hand-written SQL: window functions over the key, a
    per-series LIMIT and integer flooring are beyond the ORM.
    """
    if period_ms <= 0:
        raise ValueError("period_ms must be positive")
    _check_paging(offset, limit)
    ids = list(dict.fromkeys(series_ids))
    pages = {series_id: RollupPage([], None, None) for series_id in ids}
    if not ids or limit == 0 or start_ms >= end_ms:
        return pages
    resume = resume or {}
    if limit is not None and offset + limit >= (end_ms - 1) // period_ms - start_ms // period_ms + 1:
        limit = None  # the window has no more periods than that: every page ends with it
    # A statement takes one number of records to skip: resumed series skip none.
    groups: dict[int, list[tuple[int, int]]] = {}
    for series_id in ids:
        if series_id in resume:
            groups.setdefault(0, []).append((series_id, resume[series_id]))
        else:
            groups.setdefault(offset, []).append((series_id, start_ms))
    for skip, targets in groups.items():
        sql, params = _rollup_page_sql(
            targets=targets, skip=skip, start_ms=start_ms, end_ms=end_ms, period_ms=period_ms, limit=limit
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        records: list[Rollup] = []
        previous_value: float | None = None
        for series_id, period_end, last_ts, value, min_value, max_value, first_ts, next_ts, previous in rows:
            if first_ts is not None:  # the first record of the series' page
                records = []
                pages[series_id] = RollupPage(records, first_ts, next_ts)
                previous_value = previous
            delta = 0.0 if previous_value is None else value - previous_value
            records.append(Rollup(period_end, last_ts, value, delta, min_value, max_value))
            previous_value = value
    return pages


def _record_start(*, series: str, after: str, skip: str) -> str:
    """SQL for the first sample of the record `skip` records after the one starting at `after`
    (a record's first sample, or the window's start) within the window, NULL when there is none.

    A key starts a record when the key before it in the scan lies in an earlier period; the
    first key of the scan always does. LAG over the keys in order streams, and LIMIT stops it.
    """
    return f"""(
        SELECT k.ts FROM (
            SELECT s.ts, LAG(s.ts) OVER (ORDER BY s.ts) AS previous_ts
            FROM timeseries_sample AS s
            WHERE s.series_id = {series} AND s.ts >= {after} AND s.ts < %(end)s
        ) AS k
        WHERE k.previous_ts IS NULL OR k.previous_ts < {_period_start("k.ts", "%(period)s")}
        ORDER BY k.ts LIMIT 1 OFFSET {skip}
    )"""


def _rollup_page_sql(
    *,
    targets: list[tuple[int, int]],
    skip: int,
    start_ms: int,
    end_ms: int,
    period_ms: int,
    limit: int | None,
) -> tuple[str, dict[str, int]]:
    """The page statement for `targets` [(series id, search start)], each skipping `skip` records."""
    params = {"start": start_ms, "end": end_ms, "period": period_ms, "skip": skip, "limit": limit or 0}
    values = []
    for i, (series_id, after) in enumerate(targets):
        params[f"s{i}"], params[f"a{i}"] = series_id, after
        values.append(f"(CAST(%(s{i})s AS bigint), CAST(%(a{i})s AS bigint))")
    if skip:
        # More records to skip than periods from the search start to the window's last sample:
        # the page is empty, known from one probe of the key.
        first = f"""CASE WHEN (
                SELECT (MAX(s.ts) - {_period_start("t.after_ts", "%(period)s")}) / %(period)s
                FROM timeseries_sample AS s
                WHERE s.series_id = t.series_id AND s.ts >= t.after_ts AND s.ts < %(end)s
            ) >= %(skip)s
            THEN {_record_start(series="t.series_id", after="t.after_ts", skip="%(skip)s")} END"""
    else:
        first = """(SELECT MIN(s.ts) FROM timeseries_sample AS s
                    WHERE s.series_id = t.series_id AND s.ts >= t.after_ts AND s.ts < %(end)s)"""
    following = "CAST(NULL AS bigint)"
    if limit is not None:
        following = _record_start(series="f.series_id", after="f.first_ts", skip="%(limit)s")
    page_range = "s.ts >= b.first_ts AND s.ts < COALESCE(b.next_ts, %(end)s)"
    period_start = _period_start("s.ts", "%(period)s")
    if connection.vendor == "postgresql":
        periods = f"""
            SELECT b.series_id, b.first_ts, b.next_ts, b.previous_value, r.*
            FROM bounds AS b CROSS JOIN LATERAL (
                SELECT {period_start} AS period_start, MAX(s.ts) AS last_ts,
                       MIN(s.value) AS min_value, MAX(s.value) AS max_value
                FROM timeseries_sample AS s
                WHERE s.series_id = b.series_id AND {page_range}
                GROUP BY 1
            ) AS r"""
    else:
        # SQLite has no LATERAL; its planner joins through the primary key by itself.
        periods = f"""
            SELECT b.series_id, b.first_ts, b.next_ts, b.previous_value, {period_start} AS period_start,
                   MAX(s.ts) AS last_ts, MIN(s.value) AS min_value, MAX(s.value) AS max_value
            FROM bounds AS b
            JOIN timeseries_sample AS s ON s.series_id = b.series_id AND {page_range}
            GROUP BY b.series_id, b.first_ts, b.next_ts, b.previous_value, period_start"""
    materialized = _materialized()
    sql = f"""
        WITH targets (series_id, after_ts) AS (VALUES {", ".join(values)}),
        firsts AS {materialized} (
            SELECT t.series_id, {first} AS first_ts FROM targets AS t
        ),
        bounds AS {materialized} (
            SELECT f.series_id, f.first_ts, {following} AS next_ts,
                   (SELECT p.value FROM timeseries_sample AS p
                    WHERE p.series_id = f.series_id AND p.ts >= %(start)s AND p.ts < f.first_ts
                    ORDER BY p.ts DESC LIMIT 1) AS previous_value
            FROM firsts AS f
            WHERE f.first_ts IS NOT NULL
        ),
        periods AS ({periods})
        SELECT r.series_id, r.period_start + %(period)s, r.last_ts,
               (SELECT v.value FROM timeseries_sample AS v
                WHERE v.series_id = r.series_id AND v.ts = r.last_ts),
               r.min_value, r.max_value,
               -- the page's bounds, on its first record only: sent and converted once
               CASE WHEN r.period_start <= r.first_ts THEN r.first_ts END,
               CASE WHEN r.period_start <= r.first_ts THEN r.next_ts END,
               CASE WHEN r.period_start <= r.first_ts THEN r.previous_value END
        FROM periods AS r
        ORDER BY r.series_id, r.period_start
    """
    return sql, params


def _materialized() -> str:
    """Keeps a CTE from being inlined, which would evaluate its subqueries at every use; SQLite
    knows the keyword from 3.35 on, above Django's minimum."""
    if connection.vendor == "postgresql" or connection.Database.sqlite_version_info >= (3, 35):
        return "MATERIALIZED"
    return ""
