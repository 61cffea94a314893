"""The statistics of a pure append, merged into the stored rows instead of recomputed.

When a write's samples of a series all lie strictly after that series' newest stored sample, the
quarter-hours and days they land in change only by what the batch adds: count and sum grow by
the batch's, min and max widen, the first sample stays (a new bucket's is the batch's first),
the last is the batch's last, and consumption, resets and steps back grow by the batch's own
increments plus the one from the stored newest sample to the batch's first (the counter rule of
buckets.py, in numpy: bulk.quarter_figures). No later bucket exists whose first increment could
change. The batch's figures travel as arrays into one UPSERT per table, which merges them with
the rows (the same statements on PostgreSQL and SQLite). So a small write into a quarter-hour
already holding tens of thousands of samples costs what the batch costs, not what the
quarter-hour holds; `buckets.statistics_recompute` still does every other change.

Only series whose statistics are computed for their calendar now are merged: not while a
recomputation is pending, not when the recorded kind, interval end or zone differs (basis.py).
"""

from collections.abc import Sequence
from datetime import date

import numpy as np
from django.db import connection

from ..sql import ids_match
from .buckets import FIGURES, TAG, SeriesCalendar, rows_source
from .bulk import DATE_EPOCH_ORDINAL, day_figures, quarter_figures
from .calendar import QUARTER_MS

_TYPES = {
    "series_id": "int8",
    "start": "int8",
    "count": "int8",
    "first_ts": "int8",
    "last_ts": "int8",
    "resets": "int8",
    "steps_back": "int8",
}


def series_tails(series_ids: Sequence[int], calendars: dict[int, SeriesCalendar]) -> dict[int, tuple]:
    """Per series whose statistics may be merged: (ts, value) of its newest stored sample. Read
    under the series lock, before the write; one statement (four index probes a series: the
    newest sample, and the newest rows, which must end with it)."""
    if not series_ids:
        return {}
    match, params = ids_match("s.id", list(series_ids))
    newest = "SELECT x.{} FROM timeseries_sample x WHERE x.series_id = s.id ORDER BY x.ts DESC LIMIT 1"
    row_last = "SELECT t.last_ts FROM {} t WHERE t.series_id = s.id ORDER BY t.start DESC LIMIT 1"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} SELECT s.id, s.statistics_pending, s.statistics_kind, s.statistics_interval_end, "
            f"s.statistics_zone, ({newest.format('ts')}), ({newest.format('value')}), "
            f"({row_last.format('timeseries_stats_quarter')}), ({row_last.format('timeseries_stats_day')}) "
            f"FROM timeseries_series s WHERE {match}",
            params,
        )
        found = cursor.fetchall()
    tails = {}
    for sid, pending, kind, interval_end, zone, ts, value, quarter_last, day_last in found:
        calendar = calendars.get(sid)
        if calendar is None or pending or ts is None:
            continue  # a series without samples costs the recompute no more than its batch
        if quarter_last != ts or day_last != ts:
            continue  # rows that do not end with the newest sample (samples deleted by hand)
        recorded = (kind, interval_end, zone)
        if recorded != (None, None, None) and recorded != (
            calendar.kind,
            calendar.interval_end,
            calendar.zone,
        ):
            continue  # computed for another calendar: the recompute is what catches up
        tails[sid] = (ts, value)
    return tails


def statistics_append(
    series_ids: np.ndarray,
    ts: np.ndarray,
    values: np.ndarray,
    *,
    tails: dict[int, tuple],
    calendars: dict[int, SeriesCalendar],
) -> set[int]:
    """Merge the figures of the written samples of each series that is a pure append (all its
    samples here after `tails`' newest stored one) into its rows; returns those series (the rest
    is the caller's to recompute). The samples: distinct (series, ts), all written."""
    order = np.lexsort((ts, series_ids))
    series_ids, ts, values = series_ids[order], ts[order], values[order]
    run_starts = np.flatnonzero(np.concatenate([[True], series_ids[1:] != series_ids[:-1]]))
    run_ends = np.append(run_starts[1:], len(ts))
    quarters, days, merged = [], [], set()
    for start, end in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        sid = int(series_ids[start])
        if sid not in tails:
            continue
        stored_ts, stored_value = tails[sid]
        if int(ts[start]) <= stored_ts:
            continue
        calendar = calendars[sid]
        run_ts, current = ts[start:end], values[start:end].astype(np.float64)
        shifted = run_ts - calendar.shift
        bucket = shifted - shifted % QUARTER_MS
        prev = np.concatenate([[float(stored_value)], current[:-1]])
        q = quarter_figures(bucket, run_ts, current, prev, calendar.kind)
        q["series_id"] = np.full(len(q["start"]), sid, dtype=np.int64)
        quarters.append(q)
        days.append(
            day_figures(
                q, first_q=int(bucket[0]), last_q=int(bucket[-1]), zone=calendar.zone, inner_only=False
            )
        )
        merged.add(sid)
    if merged:
        _merge("timeseries_stats_quarter", quarters)
        _merge("timeseries_stats_day", days)
    return merged


def _merge(table: str, parts: list[dict]) -> None:
    """One UPSERT of the batch's bucket figures into `table`, merged with the rows there."""
    with_day = table == "timeseries_stats_day"
    names = ["series_id", "start", *FIGURES]
    columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
    consumption = [None if np.isnan(c) else float(c) for c in columns["consumption"].tolist()]
    lists = [consumption if name == "consumption" else columns[name].tolist() for name in names]
    rows = [list(row) for row in zip(*lists, strict=True)]
    typed = [(name, _TYPES.get(name, "float8")) for name in names]
    if with_day:
        days = np.concatenate([part["day"] for part in parts]).tolist()
        for row, day in zip(rows, days, strict=True):
            row.append(date.fromordinal(day + DATE_EPOCH_ORDINAL).isoformat())
        typed.append(("day", "text"))
    source, params = rows_source(typed, rows)
    t = table
    day_column = ", day" if with_day else ""
    day_value = ""
    if with_day:
        day_value = ", CAST(r.day AS date)" if connection.vendor == "postgresql" else ", r.day"
    figures = ", ".join(FIGURES)
    picks = ", ".join(f"r.{name}" for name in FIGURES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""{TAG}
            INSERT INTO {t} (series_id, start{day_column}, {figures})
            SELECT r.series_id, r.start{day_value}, {picks} FROM ({source}) AS r WHERE TRUE
            ON CONFLICT (series_id, start) DO UPDATE SET
                count = {t}.count + excluded.count,
                sum = {t}.sum + excluded.sum,
                min = CASE WHEN excluded.min < {t}.min THEN excluded.min ELSE {t}.min END,
                max = CASE WHEN excluded.max > {t}.max THEN excluded.max ELSE {t}.max END,
                last_ts = excluded.last_ts,
                last_value = excluded.last_value,
                consumption = {t}.consumption + excluded.consumption,
                resets = {t}.resets + excluded.resets,
                steps_back = {t}.steps_back + excluded.steps_back
            """,
            params,
        )
