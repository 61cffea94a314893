"""Rollups (last, min, max, delta per period) of long windows from the quarter-hour statistics.

A period that is a whole number of quarter-hours is the union of its quarter-hours, so its
records follow from their rows: min of the mins, max of the maxes, the last row's last sample.
A window whose ends are not on quarter-hours reads its two edge fragments (each shorter than a
quarter-hour) from the samples, and the fragment's record joins the quarter-hours' record of
the same period. The records are exactly those of `rollup.rollups` over the samples, at a
fifteenth of the rows for one-minute data and less for denser series (the tests compare them).

Paging counts records as `rollup.rollups` does: the quarter-hours' periods are grouped in SQL
and only the page (and the record before it, for its first delta) is read.
"""

from collections.abc import Sequence

from django.db import connection

from ..query import Rollup, _check_paging, _period_start
from ..rollup import rollups as sample_rollups
from .calendar import QUARTER_MS


def statistics_serve(
    *,
    kind: str,
    interval_end: bool,
    pending: bool,
    start_ms: int,
    end_ms: int,
    period_ms: int,
    recorded_interval_end: bool | None = None,
) -> bool:
    """Whether a series' rollups over the window can come from its quarter-hours: periods of whole
    quarter-hours, a window of more than two of them, statistics not being recomputed, and
    quarter-hours that hold the samples of their own time span (an interval series labelled by
    its intervals' ends counts a sample in the quarter-hour before its time), also as recorded
    for the statistics stored (`Series.statistics_interval_end`, until a change is recomputed)."""
    return (
        period_ms % QUARTER_MS == 0
        and not pending
        and not (kind == "interval" and interval_end)
        and not (kind == "interval" and recorded_interval_end)
        and end_ms - start_ms > 2 * QUARTER_MS
    )


def _merged(earlier: Rollup, later: Rollup) -> Rollup:
    return Rollup(
        later.period_end_ms,
        later.last_ts,
        later.value,
        0.0,
        min(earlier.min, later.min),
        max(earlier.max, later.max),
    )


def rollups_from_statistics(
    *, series_id: int, start_ms: int, end_ms: int, period_ms: int, offset: int = 0, limit: int | None = None
) -> list[Rollup]:
    """One page of a series' rollups (see `rollup.rollups`) over [start_ms, end_ms), read from its
    quarter-hour statistics and the samples of the window's edge fragments. The caller checks
    `statistics_serve`."""
    _check_paging(offset, limit)
    if limit == 0:
        return []
    inner_start = -(-start_ms // QUARTER_MS) * QUARTER_MS
    inner_end = end_ms // QUARTER_MS * QUARTER_MS
    head = _fragment(series_id, start_ms, inner_start, period_ms)
    tail = _fragment(series_id, inner_end, end_ms, period_ms)
    first_quarter = _first_quarter(series_id, inner_start, inner_end)
    # The head's record stands alone (ahead of the quarter-hours' first) unless both lie in one period.
    head_alone = head is not None and (
        first_quarter is None or _period_of(first_quarter, period_ms) + period_ms != head.period_end_ms
    )
    skip = max(offset - head_alone - 1, 0)  # groups before the page, less the one before it
    wanted = None if limit is None else limit + 2
    groups = _groups(series_id, inner_start, inner_end, period_ms, skip, wanted)
    records = list(groups)
    if head is not None and skip == 0:
        if head_alone:
            records.insert(0, head)
        else:
            records[0] = _merged(head, records[0])
    if tail is not None and (wanted is None or len(groups) < wanted):  # the groups reached the end
        if records and records[-1].period_end_ms == tail.period_end_ms:
            records[-1] = _merged(records[-1], tail)
        else:
            records.append(tail)
    first_index = 0 if skip == 0 else skip + head_alone  # the window's index of records[0]
    begin = offset - first_index
    page = records[begin:] if limit is None else records[begin : begin + limit]
    previous = records[begin - 1].value if 0 < begin <= len(records) else None
    result = []
    for record in page:
        delta = 0.0 if previous is None else record.value - previous
        result.append(record._replace(delta=delta))
        previous = record.value
    return result


def _period_of(ms: int, period_ms: int) -> int:
    return ms - ms % period_ms


def _fragment(series_id: int, start_ms: int, end_ms: int, period_ms: int) -> Rollup | None:
    """The record of an edge fragment (shorter than a quarter-hour, so within one period)."""
    if start_ms >= end_ms:
        return None
    records = sample_rollups(series_ids=[series_id], start_ms=start_ms, end_ms=end_ms, period_ms=period_ms)
    return records[series_id][0] if records[series_id] else None


def _first_quarter(series_id: int, start_ms: int, end_ms: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(start) FROM timeseries_stats_quarter"
            " WHERE series_id = %s AND start >= %s AND start < %s",
            [series_id, start_ms, end_ms],
        )
        return cursor.fetchone()[0]


def _groups(
    series_id: int, start_ms: int, end_ms: int, period_ms: int, skip: int, limit: int | None
) -> Sequence[Rollup]:
    """The periods of the quarter-hours in [start_ms, end_ms), from the `skip`-th on, at most
    `limit`: grouped in SQL; each one's last sample is its last quarter-hour's (a key lookup)."""
    period_start = _period_start("q.start", "%(period)s")
    paging = "LIMIT %(limit)s OFFSET %(skip)s" if limit is not None else "LIMIT -1 OFFSET %(skip)s"
    if connection.vendor == "postgresql" and limit is None:
        paging = "OFFSET %(skip)s"
    sql = f"""
        WITH g AS (
            SELECT {period_start} AS period_start, MAX(q.start) AS last_quarter,
                   MIN(q.min) AS min_value, MAX(q.max) AS max_value
            FROM timeseries_stats_quarter AS q
            WHERE q.series_id = %(series)s AND q.start >= %(start)s AND q.start < %(end)s
            GROUP BY 1 ORDER BY 1 {paging}
        )
        SELECT g.period_start + %(period)s, l.last_ts, l.last_value, g.min_value, g.max_value
        FROM g JOIN timeseries_stats_quarter AS l ON l.series_id = %(series)s AND l.start = g.last_quarter
        ORDER BY g.period_start
    """
    params = {"series": series_id, "start": start_ms, "end": end_ms, "period": period_ms, "skip": skip}
    params["limit"] = limit
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Rollup(end, last_ts, value, 0.0, low, high)
            for end, last_ts, value, low, high in cursor.fetchall()
        ]
