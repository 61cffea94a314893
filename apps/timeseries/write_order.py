"""The order of accepted writes: for each (series, ts), the stored value is that of the write
accepted last, whatever order the writes are applied in (docs/api.md, "Write order").

Most writes are applied as they are accepted (a Blynk value, a Building X write, a Blynk
history import): the series lock makes writers of a series take turns, so for them the order of
application is the order of acceptance. An import job is accepted first and applied later, in
chunks, by whichever worker takes it: after writes accepted after it, or interleaved with
another job. So:

- A write accepted for later takes an acceptance number (`write_accept`, from a database
  sequence) while holding the locks of the series it will write. Per series, the numbers follow
  the order in which writers held the lock, which is the order in which they were acknowledged.
  Its series are marked pending: one PendingWrite row each, the lowest pending number on
  `Series.pending_seq`.
- While a series has a pending write, an overwrite applied to it leaves a mark per sample
  (WriteMark: the number of the write that set it) when some pending write is older than it:
  a write applied as it is accepted takes a fresh number (later than every pending one); a job
  applies under its own.
- A job's sample is not applied where a mark of a higher number lies: a write accepted after
  the job set it. So the latest-accepted write wins at each sample whatever order the jobs run
  in, and jobs on the same series never wait for each other.
- When a pending write finishes (done, or failed: `write_release`), the marks no pending write
  is older than go. With nothing pending on a series it has no marks, and writing it costs what
  it did before: `Series.pending_seq` comes back with the lock's own query, and is null.

Keep writes (Building X overwrite=false: store unless stored) leave no marks. In acceptance
order, an import accepted before a keep write stores its value first, and the keep write finds
it stored; that is what happens when the import, applied later, overwrites the kept value.

Deleting samples (by range, by retention) is not an ordered write: an import pending over the
range writes its points when it runs.
"""

from collections.abc import Iterable

import numpy as np
from django.db import connection

from apps.core.exceptions import Invalid, NotFound

from .sql import array_literal, ids_match, placeholders
from .stats.buckets import CALENDAR_COLUMNS, CALENDAR_JOINS, SeriesCalendar, calendar_of

# Rows of marks and pending writes per INSERT ... VALUES on SQLite (3 parameters a row), and
# series per probe of the marks (3 parameters a series): within both databases' parameter limits.
VALUES_CHUNK = 1_000
_MAX_SEQ = 2**63 - 1


def series_lock(series_ids: list[int], *, missing_ok: bool = False) -> dict[int, int]:
    """Lock `series_ids` (`FOR NO KEY UPDATE` on PostgreSQL, in id order, so two writers of
    overlapping series cannot deadlock; SQLite has one writer) and return the lowest pending
    acceptance number of those that have pending writes (see the module docstring).

    Every change to a series' samples takes these locks first, in the caller's transaction:
    writers of the same series take turns, which keeps the store's conflict check, the latest
    sample and the write order exact; writers of different series never wait for each other.
    Raises NotFound for a series that does not exist and Invalid for a virtual one (it has no
    samples to change), unless `missing_ok` (maintenance that skips what it does not find)."""
    return series_lock_calendars(series_ids, missing_ok=missing_ok)[0]


def series_lock_calendars(
    series_ids: list[int], *, missing_ok: bool = False
) -> tuple[dict[int, int], dict[int, SeriesCalendar]]:
    """`series_lock`, and what decides each locked series' statistics (kind, bucket shift, zone),
    read by the same statement: a small write then spends no query of its own on them."""
    if not series_ids:
        return {}, {}
    lock = " FOR NO KEY UPDATE OF s" if connection.vendor == "postgresql" else ""
    match, params = ids_match("s.id", series_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.pending_seq, {CALENDAR_COLUMNS} FROM timeseries_series s {CALENDAR_JOINS} "
            f"WHERE {match} ORDER BY s.id{lock}",
            params,
        )
        found = cursor.fetchall()
    if not missing_ok and len(found) < len(set(series_ids)):
        missing = sorted(set(series_ids) - {row[0] for row in found})
        raise NotFound(f"series {missing[0]} does not exist", field="series_id")
    virtual = [row[0] for row in found if row[2] == "virtual"]
    if virtual and not missing_ok:  # computed from its sources (stats/virtual.py)
        raise Invalid(f"series {virtual[0]} is virtual: it has no samples of its own", field="series_id")
    pending = {series_id: seq for series_id, seq, *_ in found if seq is not None}
    return pending, {row[0]: calendar_of(*row[2:]) for row in found}


def next_seq() -> int:
    """The next acceptance number. PostgreSQL: a sequence (no lock, never rolled back). SQLite: a
    counter row, which costs nothing there since SQLite has a single writer."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval('timeseries_write_seq')")
        else:
            cursor.execute(
                "INSERT INTO timeseries_write_seq (id, value) VALUES (1, 1) "
                "ON CONFLICT (id) DO UPDATE SET value = value + 1 RETURNING value"
            )
        return cursor.fetchone()[0]


def write_accept(*, series_ids: Iterable[int]) -> int:
    """Accept a write that will be applied later (an import job) to `series_ids`: lock them, take
    its acceptance number and mark them pending, in the caller's transaction (the one that stores
    the job). Pass the number to `store.write(seq=...)` for each part of it and to
    `write_release` when it is finished. Raises NotFound for a series that does not exist."""
    ids = sorted(set(series_ids))
    series_lock(ids)
    seq = next_seq()
    if not ids:
        return seq
    _insert_rows("timeseries_pendingwrite (series_id, seq)", [(series_id, seq) for series_id in ids])
    with connection.cursor() as cursor:
        # Every pending number is lower than the one just taken: only series with none change.
        cursor.execute(
            f"UPDATE timeseries_series SET pending_seq = %s WHERE id IN ({placeholders(len(ids))}) "
            "AND pending_seq IS NULL",
            [seq, *ids],
        )
    return seq


def write_release(*, seq: int, series_ids: Iterable[int]) -> None:
    """The accepted write `seq` is finished (applied, or given up): its series are no longer
    pending for it, and their marks that no other pending write is older than are deleted.
    Series deleted since are skipped; releasing twice changes nothing.

    Takes the locks of all of `series_ids` at once, in id order: a caller that also writes
    takes them before its write (see `import_run`), never a subset first."""
    ids = sorted(set(series_ids))
    if not ids:
        return
    pending = series_lock(ids, missing_ok=True)
    if not pending:
        return
    held = sorted(pending)
    in_held = placeholders(len(held))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM timeseries_pendingwrite WHERE seq = %s AND series_id IN ({in_held})", [seq, *held]
        )
        cursor.execute(
            "UPDATE timeseries_series SET pending_seq = (SELECT MIN(p.seq) FROM timeseries_pendingwrite p "
            f"WHERE p.series_id = timeseries_series.id) WHERE id IN ({in_held})",
            held,
        )
        # A mark matters only to pending writes older than it.
        cursor.execute(
            f"DELETE FROM timeseries_writemark WHERE series_id IN ({in_held}) AND seq <= COALESCE(("
            "SELECT s.pending_seq FROM timeseries_series s WHERE s.id = timeseries_writemark.series_id"
            "), %s)",
            [*held, _MAX_SEQ],
        )


def write_pending() -> dict[int, list[int]]:
    """Every pending accepted write: {acceptance number: its series ids, ascending}."""
    result: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, series_id FROM timeseries_pendingwrite ORDER BY seq, series_id")
        for seq, series_id in cursor.fetchall():
            result.setdefault(seq, []).append(series_id)
    return result


def superseded(
    *, series_ids: np.ndarray, ts: np.ndarray, ranges: tuple[np.ndarray, np.ndarray, np.ndarray], seq: int
) -> np.ndarray | None:
    """Which rows a write accepted after `seq` has set (a mark numbered higher), as a mask; None
    when none. `ranges` are (series, lowest ts, highest ts) of the series to look at: one probe of
    the marks' primary key per series, so the cost follows the rows marked in the batch's range."""
    found: dict[int, list[int]] = {}
    sids, lows, highs = (column.tolist() for column in ranges)
    with connection.cursor() as cursor:
        for start in range(0, len(sids), VALUES_CHUNK):
            chunk = range(start, min(start + VALUES_CHUNK, len(sids)))
            values = ", ".join(["(CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint))"] * len(chunk))
            cursor.execute(
                f"WITH r (series_id, lo, hi) AS (VALUES {values}) "
                "SELECT m.series_id, m.ts FROM r JOIN timeseries_writemark m "
                "ON m.series_id = r.series_id AND m.ts >= r.lo AND m.ts <= r.hi WHERE m.seq > %s",
                [item for i in chunk for item in (sids[i], lows[i], highs[i])] + [seq],
            )
            for series_id, stamp in cursor.fetchall():
                found.setdefault(series_id, []).append(stamp)
    if not found:
        return None
    mask = np.zeros(len(ts), dtype=bool)
    for series_id, stamps in found.items():
        rows = np.flatnonzero(series_ids == series_id)
        mask[rows] = np.isin(ts[rows], np.asarray(stamps, dtype=np.int64))
    return mask


def mark(*, series_ids: np.ndarray, ts: np.ndarray, seq: int) -> None:
    """Record that the accepted write `seq` set these samples (unique (series, ts) pairs). A
    higher mark already there is kept, though the caller has skipped those rows anyway."""
    conflict = (
        "ON CONFLICT (series_id, ts) DO UPDATE SET seq = excluded.seq "
        "WHERE timeseries_writemark.seq < excluded.seq"
    )
    if connection.vendor != "postgresql":
        _insert_rows(
            "timeseries_writemark (series_id, ts, seq)",
            zip(series_ids.tolist(), ts.tolist(), [seq] * len(ts), strict=True),
            conflict=conflict,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_writemark (series_id, ts, seq) "
            f"SELECT series_id, ts, %s FROM unnest(%s::int8[], %s::int8[]) AS u(series_id, ts) {conflict}",
            [seq, array_literal(map(str, series_ids.tolist())), array_literal(map(str, ts.tolist()))],
        )


def _insert_rows(target: str, rows: Iterable[tuple], *, conflict: str = "") -> None:
    """Multi-row INSERT ... VALUES, chunked; for the small tables of this module."""
    rows = list(rows)
    if not rows:
        return
    width = len(rows[0])
    row_sql = "(" + placeholders(width) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), VALUES_CHUNK):
            chunk = rows[start : start + VALUES_CHUNK]
            cursor.execute(
                f"INSERT INTO {target} VALUES {', '.join([row_sql] * len(chunk))} {conflict}",
                [item for row in chunk for item in row],
            )
