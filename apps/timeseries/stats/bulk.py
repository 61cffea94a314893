"""The statistics of a batch of new samples, computed from the batch's arrays (PostgreSQL).

When the store copies a batch straight into the sample table (`store.postgresql_copy.postgresql_write`: no
stored sample lies within any of its series' time ranges), every quarter-hour strictly between
the first and the last of a series' batch holds batch samples only, and so does every local day
made of such quarter-hours. Their figures are computed here, vectorised (one sort at most and
`reduceat` over the rows, then over the quarter-hours), and copied in binary. The rest is left
to the SQL path (`buckets.statistics_recompute`), which reads the samples: each series' first
quarter-hour (it may hold stored samples before the batch, and its first increment needs the
stored sample before the batch), its last one and the next stored one (whose first increment
the batch's last sample changes), and their days.

Measured on 1,000,000 one-minute points (bench/statistics_upkeep.py): the SQL path alone took longer
than the samples' own COPY; see docs/energy.md for the figures.
"""

from datetime import date

import numpy as np
from django.db import connection

from .buckets import FIGURES, RESET_RATIO, TAG, SeriesCalendar, rows_source, statistics_recompute
from .calendar import QUARTER_MS, local_days

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2
_COPY_TRAILER = b"\xff\xff"
DATE_EPOCH_ORDINAL = date(2000, 1, 1).toordinal()  # binary dates count days from 2000-01-01
# (column, binary type) of a statistics row after (series_id, start), the columns buckets.FIGURES;
# a figure not named in _INTEGERS is a float8 (consumption may be NULL).
_INTEGERS = {"count": ">i4", "first_ts": ">i8", "last_ts": ">i8", "resets": ">i4", "steps_back": ">i4"}
_FIGURES = [(name, _INTEGERS.get(name, ">f8")) for name in FIGURES]
# Below this many rows a series' batch leaves nothing worth computing here.
_MIN_ROWS = 64


def statistics_add(
    series_ids: np.ndarray, ts: np.ndarray, values: np.ndarray, *, calendars: dict[int, SeriesCalendar]
) -> None:
    """Bring the statistics up to date after `store.write` copied these new samples (distinct
    (series, ts), none of them stored before, no stored sample of a series between its first and
    last time here) into the sample table, in the write's transaction."""
    if len(ts) > 1 and not _sorted(series_ids, ts):
        order = np.lexsort((ts, series_ids))
        series_ids, ts, values = series_ids[order], ts[order], values[order]
    run_starts = np.flatnonzero(np.concatenate([[True], series_ids[1:] != series_ids[:-1]]))
    run_ends = np.append(run_starts[1:], len(ts))
    quarters, days, ranges = [], [], []
    for start, end in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        sid, lo, hi = int(series_ids[start]), int(ts[start]), int(ts[end - 1])
        if end - start < _MIN_ROWS:
            ranges.append((sid, lo, hi))
            continue
        q, d = _series_figures(sid, ts[start:end], values[start:end], calendars[sid])
        quarters += [q] if q is not None else []
        days += [d] if d is not None else []
        # The edges (and whatever quarter-hours they reach) in SQL: the two ranges touch when
        # the series has no inner quarter-hour, and are then one.
        ranges += [(sid, lo, lo), (sid, hi, hi)]
    for table, parts in (("timeseries_stats_quarter", quarters), ("timeseries_stats_day", days)):
        if parts:
            _stale_rows_delete(table, parts)
            _copy(table, parts, with_day=table == "timeseries_stats_day")
    statistics_recompute(ranges, calendars=calendars, grows=True)


def _sorted(series_ids: np.ndarray, ts: np.ndarray) -> bool:
    return bool(
        (
            (series_ids[1:] > series_ids[:-1]) | ((series_ids[1:] == series_ids[:-1]) & (ts[1:] > ts[:-1]))
        ).all()
    )


def _series_figures(
    sid: int, ts: np.ndarray, values: np.ndarray, calendar: SeriesCalendar
) -> tuple[dict | None, dict | None]:
    """The figures of one series' inner quarter-hours and of its days made of them only, as
    columns; None where there are none."""
    shifted = ts - calendar.shift
    bucket = shifted - shifted % QUARTER_MS
    first_q, last_q = int(bucket[0]), int(bucket[-1])
    inner = np.flatnonzero((bucket > first_q) & (bucket < last_q))
    if not len(inner):
        return None, None
    lo, hi = int(inner[0]), int(inner[-1]) + 1
    # Increments reach back one sample, which lies in the batch (in the first quarter-hour at worst).
    q = quarter_figures(bucket[lo:hi], ts[lo:hi], values[lo:hi], values[lo - 1 : hi - 1], calendar.kind)
    q["series_id"] = np.full(len(q["start"]), sid, dtype=np.int64)
    return q, day_figures(q, first_q=first_q, last_q=last_q, zone=calendar.zone, inner_only=True)


def quarter_figures(
    bucket: np.ndarray, ts: np.ndarray, current: np.ndarray, prev: np.ndarray, kind: str
) -> dict[str, np.ndarray]:
    """The figures of the quarter-hours of one series' samples (`bucket`: each sample's quarter-
    hour start, ascending with `ts`), as columns; `prev`: the value of the sample before each one
    (NaN where there is none: its increment is nothing)."""
    starts = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    ends = np.append(starts[1:], len(bucket)) - 1
    q = {
        "start": bucket[starts],
        "count": np.diff(np.append(starts, len(bucket))).astype(np.int32),
        "sum": np.add.reduceat(current, starts),
        "min": np.minimum.reduceat(current, starts),
        "max": np.maximum.reduceat(current, starts),
        "first_ts": ts[starts],
        "first_value": current[starts],
        "last_ts": ts[ends],
        "last_value": current[ends],
    }
    n = len(starts)
    if kind == "counter":
        has_prev = ~np.isnan(prev)
        reset = (prev > 0) & (current < RESET_RATIO * prev)
        increment = np.where(has_prev, np.where(reset, current, current - prev), 0.0)
        q["consumption"] = np.add.reduceat(increment, starts)
        q["resets"] = np.add.reduceat(reset.astype(np.int32), starts)
        q["steps_back"] = np.add.reduceat(((current < prev) & ~reset).astype(np.int32), starts)
    else:
        q["consumption"] = q["sum"] if kind == "interval" else np.full(n, np.nan)
        q["resets"] = q["steps_back"] = np.zeros(n, dtype=np.int32)
    return q


def day_figures(q: dict, *, first_q: int, last_q: int, zone: str, inner_only: bool) -> dict | None:
    """The local days of the quarter-hours `q` (from `quarter_figures`, with "series_id"), summed
    from them; `inner_only`: only the days whose quarter-hours with samples are all inner ones
    (neither `first_q`'s day nor `last_q`'s)."""
    spans = local_days(zone=zone, start_ms=first_q, end_ms=last_q + QUARTER_MS)
    day_starts = np.asarray([start for start, _, _ in spans], dtype=np.int64)
    index = np.searchsorted(day_starts, q["start"], side="right") - 1
    if inner_only:
        edge_days = np.searchsorted(day_starts, [first_q, last_q], side="right") - 1
        keep = (index != edge_days[0]) & (index != edge_days[1])
        if not keep.any():
            return None
        index = index[keep]
        q = {name: column[keep] for name, column in q.items()}
    starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
    ends = np.append(starts[1:], len(index)) - 1
    dates = np.asarray([day.toordinal() - DATE_EPOCH_ORDINAL for _, _, day in spans], dtype=np.int32)
    return {
        "series_id": q["series_id"][starts],
        "start": day_starts[index[starts]],
        "day": dates[index[starts]],
        "count": np.add.reduceat(q["count"], starts).astype(np.int32),
        "sum": np.add.reduceat(q["sum"], starts),
        "min": np.minimum.reduceat(q["min"], starts),
        "max": np.maximum.reduceat(q["max"], starts),
        "first_ts": q["first_ts"][starts],
        "first_value": q["first_value"][starts],
        "last_ts": q["last_ts"][ends],
        "last_value": q["last_value"][ends],
        "consumption": np.add.reduceat(q["consumption"], starts),
        "resets": np.add.reduceat(q["resets"], starts).astype(np.int32),
        "steps_back": np.add.reduceat(q["steps_back"], starts).astype(np.int32),
    }


def _stale_rows_delete(table: str, parts: list[dict]) -> None:
    """Delete whatever rows lie where the copy will put its own. There are none when the tables
    agree with the samples (these buckets hold no stored sample); samples deleted behind the
    store's back (a TRUNCATE, a hand-written DELETE) would leave some, and the copy would then
    fail on the primary key. One index range per series, which finds nothing in the usual case."""
    bounds = [(int(part["series_id"][0]), int(part["start"][0]), int(part["start"][-1])) for part in parts]
    source, params = rows_source([("series_id", "int8"), ("lo", "int8"), ("hi", "int8")], bounds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{TAG} DELETE FROM {table} t USING ({source}) AS r "
            "WHERE t.series_id = r.series_id AND t.start >= r.lo AND t.start <= r.hi",
            params,
        )


def _copy(table: str, parts: list[dict], *, with_day: bool) -> None:
    """Binary COPY of the rows of `parts` (column dicts) into `table`: numpy record arrays, one
    run with a consumption and one without (a NULL has no value bytes), as store.postgresql_copy does."""
    names = ["series_id", "start", *(["day"] if with_day else []), *(name for name, _ in _FIGURES)]
    columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
    null = np.isnan(columns["consumption"])
    types = {"series_id": ">i8", "start": ">i8", "day": ">i4", **dict(_FIGURES)}
    payload = [_COPY_HEADER]
    for without in (False, True):
        selected = null if without else ~null
        count = int(selected.sum())
        if not count:
            continue
        dtype = [("fields", ">i2")]
        for name in names:
            dtype.append((f"{name}_len", ">i4"))
            if not (without and name == "consumption"):
                dtype.append((name, types[name]))
        records = np.empty(count, dtype=dtype)
        records["fields"] = len(names)
        for name in names:
            if without and name == "consumption":
                records[f"{name}_len"] = -1
                continue
            records[f"{name}_len"] = np.dtype(types[name]).itemsize
            records[name] = columns[name][selected]
        payload.append(records.tobytes())
    payload.append(_COPY_TRAILER)
    sql = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(b"".join(payload))
