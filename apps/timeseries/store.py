"""The store's writes: one function, `write`, through which every sample enters the database.

Why hand-written SQL and no ORM: a 2 MB import holds ~68,000 points and a history backfill
millions; one model instance per sample would cost more than the database work itself. Batches
travel as numpy arrays, are de-duplicated vectorised, and reach PostgreSQL as one binary COPY
payload built without a Python object per row (small batches: as the four array values of one
INSERT).

Concurrency: a write first locks its series rows (`FOR NO KEY UPDATE`, in id order, so writers
never deadlock). Writers of the same series therefore take turns, which is what makes the
"does anything conflict?" check below and the latest-sample upkeep exact; writers of different
series never wait for each other.

Order: the stored value of a sample is that of the write accepted last. A write is accepted when
it is applied, unless it was accepted earlier and numbered then (`write_accept`, for import jobs:
`write(..., seq=)`); how an earlier-accepted write is kept from undoing later ones is in
write_order.py. With no import pending on its series, a write does nothing more for this.

Time: a series' latest sample (`last_ts`, `last_value`) is the newest at or before the time of
the write; a sample dated later is stored, and noted in `next_ts`, but is not current until its
time comes (readers: `selectors.series_current`).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from django.db import connection, transaction
from prometheus_client import Counter

from apps.core import time as clock
from apps.core.exceptions import Invalid

from . import write_order
from .models import MAX_TS_MS, MIN_TS_MS, TS_RANGE_TEXT
from .sql import array_literal, ids_match
from .stats.buckets import statistics_recompute
from .stats.bulk import statistics_add
from .write_order import series_lock, series_lock_calendars, write_accept, write_pending, write_release

__all__ = [
    "Policy",
    "SampleBatch",
    "WriteResult",
    "latest_refresh",
    "series_lock",
    "write",
    "write_accept",
    "write_pending",
    "write_release",
]

# PostgreSQL (see _write_postgresql): from this many rows a batch that conflicts with nothing
# stored is copied straight into the sample table ...
COPY_BATCH = 500
# ... and up to this many rows a batch that may conflict travels as four arrays in one
# INSERT ... SELECT FROM unnest(...) ON CONFLICT; above, it is copied into a temporary table and
# merged (measured on conflicting batches: equal at 1,000-5,000 rows, the arrays ahead below).
SMALL_BATCH = 2_000
# SQLite: rows per INSERT ... VALUES statement; 4 parameters a row stays below its limit.
VALUES_CHUNK = 1_000

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2
_COPY_TRAILER = b"\xff\xff"

# Exposed by apps.observability (prometheus_client's default registry; see apps.core.metrics).
POINTS_WRITTEN = Counter("ems_points_written_total", "Samples inserted or replaced by the store.", ["policy"])


class Policy(enum.StrEnum):
    """What happens when a sample's (series, ts) is already stored or repeated in the batch.

    OVERWRITE: the stored value and quality are replaced; within the batch the last occurrence
    wins. KEEP: the stored value stays; the later duplicate is dropped and its position reported.
    """

    OVERWRITE = "overwrite"
    KEEP = "keep"


@dataclass(frozen=True)
class SampleBatch:
    """Parallel arrays: sample i is (series_ids[i], ts[i], values[i], qualities[i]).

    `ts` is epoch milliseconds (UTC). `qualities` may be None (all unknown) or hold None items.
    Lists, tuples and numpy arrays are all accepted.
    """

    series_ids: Sequence[int]
    ts: Sequence[int]
    values: Sequence[float]
    qualities: Sequence[int | None] | None = None

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class WriteResult:
    """`written`: samples inserted or replaced. `dropped`: input positions not written (KEEP only),
    ascending. `superseded`: samples of an earlier-accepted write (`seq`) left alone because a
    write accepted after it had set them."""

    written: int
    dropped: list[int] = field(default_factory=list)
    superseded: int = 0


@dataclass(frozen=True)
class _Rows:
    """A validated batch as numpy columns, plus each row's position in the caller's batch."""

    series_ids: np.ndarray  # int64
    ts: np.ndarray  # int64
    values: np.ndarray  # float64
    qualities: np.ndarray  # int16, meaningless where quality_null
    quality_null: np.ndarray  # bool
    positions: np.ndarray  # int64

    def take(self, index: np.ndarray) -> "_Rows":
        return _Rows(*(getattr(self, f.name)[index] for f in fields(self)))

    def __len__(self) -> int:
        return len(self.ts)

    def as_tuples(self) -> list[tuple]:
        qualities = np.where(self.quality_null, None, self.qualities.astype(object)).tolist()
        return list(
            zip(self.series_ids.tolist(), self.ts.tolist(), self.values.tolist(), qualities, strict=True)
        )


def write(batch: SampleBatch, policy: Policy, *, seq: int | None = None) -> WriteResult:
    """Store `batch` under `policy` and bring each touched series' latest sample up to date.

    `seq`: the acceptance number of a write accepted earlier (`write_accept`, an import job), of
    which `batch` is a part; its samples that a write accepted after it has set are left alone
    (`WriteResult.superseded`). None: the write is accepted now, after every other.

    All or nothing, in one transaction. Raises Invalid for arrays of different lengths, values
    that are not finite numbers or out-of-range qualities and timestamps, and NotFound when a
    series id does not exist.
    """
    policy = Policy(policy)
    rows = _validated(batch)
    if not len(rows):
        return WriteResult(written=0)
    keep_first = policy is Policy.KEEP
    unique = _unique_positions(rows.series_ids, rows.ts, keep_first=keep_first)
    dropped = np.setdiff1d(np.arange(len(rows)), unique) if keep_first and unique is not None else None
    if unique is not None:
        rows = rows.take(unique)

    ranges = _series_ranges(rows.series_ids, rows.ts)
    series_ids = ranges[0].tolist()
    superseded = 0
    with transaction.atomic():
        pending, calendars = series_lock_calendars(series_ids)
        marked = None
        if pending:  # an import is pending on some series: see write_order.py
            before = len(rows)
            rows, marked, seq = _ordered(rows, policy, ranges, pending, seq)
            superseded = before - len(rows)
        written, dropped_stored, copied = 0, None, False
        if len(rows):
            if connection.vendor == "postgresql":
                written, dropped_stored, copied = _write_postgresql(rows, policy, ranges)
            else:
                written, dropped_stored = _write_values(rows, policy)
        if marked is not None and marked.any():
            write_order.mark(series_ids=rows.series_ids[marked], ts=rows.ts[marked], seq=seq)
        if copied:  # new samples only: their statistics from the arrays
            statistics_add(rows.series_ids, rows.ts, rows.values, calendars=calendars)
        elif written:
            statistics_recompute(
                list(zip(*(column.tolist() for column in ranges), strict=True)),
                calendars=calendars,
                grows=True,
            )
        latest_refresh(series_ids)

    # Counted when the store's own transaction block ends; an enclosing transaction that rolls
    # back later is not subtracted (a metric, not a ledger).
    POINTS_WRITTEN.labels(policy.value).inc(written)
    all_dropped = np.concatenate(
        [a for a in (dropped, dropped_stored) if a is not None] or [np.empty(0, int)]
    )
    return WriteResult(written=written, dropped=sorted(all_dropped.tolist()), superseded=superseded)


def _ordered(
    rows: "_Rows",
    policy: Policy,
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray],
    pending: dict[int, int],
    seq: int | None,
) -> tuple["_Rows", np.ndarray | None, int | None]:
    """The write order's part of a write to series of which some (`pending`: series id -> lowest
    pending acceptance number) have pending imports: the rows to write (without those a write
    accepted after `seq` has set), which of them to mark, and the write's acceptance number."""
    keep = policy is Policy.KEEP
    if seq is None:
        if keep:
            return rows, None, None  # keep writes leave no marks (write_order.py)
        # Accepted now: after every pending write, so each of its pending series gets marks.
        return rows, np.isin(rows.series_ids, list(pending)), write_order.next_seq()
    looked_at = np.isin(ranges[0], list(pending))
    skip = write_order.superseded(
        series_ids=rows.series_ids, ts=rows.ts, ranges=tuple(column[looked_at] for column in ranges), seq=seq
    )
    if skip is not None:
        rows = rows.take(np.flatnonzero(~skip))
    older = [series_id for series_id, lowest in pending.items() if lowest < seq]
    if keep or not older:
        return rows, None, seq
    return rows, np.isin(rows.series_ids, older), seq


def _validated(batch: SampleBatch) -> _Rows:
    n = len(batch.ts)
    lengths = {len(batch.series_ids), len(batch.values), n}
    if batch.qualities is not None:
        lengths.add(len(batch.qualities))
    if len(lengths) != 1:
        raise Invalid("series ids, timestamps, values and qualities differ in length", field="batch")
    try:
        series_ids = np.asarray(batch.series_ids, dtype=np.int64).reshape(n)
        ts = np.asarray(batch.ts, dtype=np.int64).reshape(n)
        values = np.asarray(batch.values, dtype=np.float64).reshape(n)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Invalid(f"batch holds a value of the wrong type: {exc}", field="batch") from exc
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise Invalid("value is not a finite number", field="value", index=int(bad[0]))
    bad = ts_outside_range(ts)
    if len(bad):
        raise Invalid(f"timestamp is outside {TS_RANGE_TEXT}", field="ts", index=int(bad[0]))
    if batch.qualities is None:
        quality_null = np.ones(n, dtype=bool)
        qualities = np.zeros(n, dtype=np.int16)
    else:
        quality_null = np.fromiter((q is None for q in batch.qualities), dtype=bool, count=n)
        raw = [0 if q is None else q for q in batch.qualities]
        try:
            wide = np.asarray(raw, dtype=np.int64).reshape(n)
        except (TypeError, ValueError, OverflowError) as exc:
            raise Invalid("quality is not an integer", field="quality") from exc
        bad = np.flatnonzero((wide < -32768) | (wide > 32767))
        if len(bad):
            raise Invalid("quality is out of range (a 16-bit integer)", field="quality", index=int(bad[0]))
        qualities = wide.astype(np.int16)
    return _Rows(series_ids, ts, values, qualities, quality_null, np.arange(n, dtype=np.int64))


def ts_outside_range(ts: np.ndarray) -> np.ndarray:
    """Positions of the epoch-ms timestamps outside [MIN_TS_MS, MAX_TS_MS], ascending: the range
    check of whole arrays (the store's own, the Blynk history import's); parsers that read one
    timestamp at a time compare with the two constants."""
    return np.flatnonzero((ts < MIN_TS_MS) | (ts > MAX_TS_MS))


def _unique_positions(series_ids: np.ndarray, ts: np.ndarray, *, keep_first: bool) -> np.ndarray | None:
    """Positions of the rows to keep when (series, ts) repeats, ascending; None when nothing repeats.

    Batches usually arrive sorted, which one vectorised comparison proves; otherwise a stable
    sort groups equal keys in input order, so "first" and "last" occurrence are exact.
    """
    if len(ts) < 2:
        return None
    later = (series_ids[1:] > series_ids[:-1]) | ((series_ids[1:] == series_ids[:-1]) & (ts[1:] > ts[:-1]))
    if later.all():
        return None
    order = np.lexsort((ts, series_ids))
    sorted_sid, sorted_ts = series_ids[order], ts[order]
    repeats_previous = (sorted_sid[1:] == sorted_sid[:-1]) & (sorted_ts[1:] == sorted_ts[:-1])
    if not repeats_previous.any():
        return None
    if keep_first:
        keep = np.concatenate([[True], ~repeats_previous])
    else:
        keep = np.concatenate([~repeats_previous, [True]])
    return np.sort(order[keep])


def _series_ranges(series_ids: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch's distinct series ids, ascending, with each one's lowest and highest timestamp.

    Batches usually hold each series as one run, in id order, which one vectorised comparison
    proves and which needs no sort (np.unique sorts: 130 ms for a million rows); otherwise the rows
    are sorted by series first.
    """
    if len(series_ids) > 1 and not (series_ids[1:] >= series_ids[:-1]).all():
        order = np.argsort(series_ids, kind="stable")
        series_ids, ts = series_ids[order], ts[order]
    starts = np.flatnonzero(np.concatenate([[True], series_ids[1:] != series_ids[:-1]]))
    return series_ids[starts], np.minimum.reduceat(ts, starts), np.maximum.reduceat(ts, starts)


def _write_values(rows: _Rows, policy: Policy) -> tuple[int, np.ndarray | None]:
    """SQLite: multi-row INSERT ... ON CONFLICT, chunked.

    Under KEEP, `RETURNING` names the rows actually inserted, which is exact even against
    writers that do not go through this module.
    """
    conflict = _conflict_clause(policy)
    tuples = rows.as_tuples()
    inserted: set[tuple[int, int]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(tuples), VALUES_CHUNK):
            chunk = tuples[start : start + VALUES_CHUNK]
            values_sql = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
                f"VALUES {values_sql} ON CONFLICT (series_id, ts) {conflict}",
                [item for row in chunk for item in row],
            )
            if policy is Policy.KEEP:
                inserted.update((sid, ts) for sid, ts in cursor.fetchall())
    if policy is Policy.OVERWRITE:
        return len(rows), None
    return _kept_from_inserted(rows, inserted)


def _conflict_clause(policy: Policy) -> str:
    if policy is Policy.OVERWRITE:
        return "DO UPDATE SET value = excluded.value, quality = excluded.quality"
    return "DO NOTHING RETURNING series_id, ts"


def _kept_from_inserted(rows: _Rows, inserted: set[tuple[int, int]]) -> tuple[int, np.ndarray]:
    """KEEP: how many rows were inserted, and the input positions of the others."""
    kept = np.fromiter(
        ((sid, ts) in inserted for sid, ts in zip(rows.series_ids.tolist(), rows.ts.tolist(), strict=True)),
        dtype=bool,
        count=len(rows),
    )
    return int(kept.sum()), rows.positions[~kept]


def _write_postgresql(
    rows: _Rows, policy: Policy, ranges: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[int, np.ndarray | None, bool]:
    """Batches from COPY_BATCH rows on: binary COPY straight into the sample table when no stored
    sample can conflict. Otherwise, up to SMALL_BATCH rows, one INSERT of four arrays; beyond,
    COPY into a temporary table and merge with one INSERT ... ON CONFLICT.

    Measured, commit included: 100 new rows as VALUES with 400 parameters 1.7 ms, as arrays
    1.1 ms, probe and COPY 0.8 ms; 2,000 new rows 24, 9.5 and 3.2 ms. Batches under COPY_BATCH
    keep to the arrays all the same: one statement, seen by Django's execute wrappers (query
    capture, fault injection) like any other, for 0.2 ms more a 100-value write.

    The third value says whether the batch was copied straight in: then it holds new samples
    only, and none stored lies within a series' range of it (stats/bulk.py relies on both)."""
    if len(rows) >= COPY_BATCH and not _any_stored_in_ranges(*ranges):
        _copy(rows, "timeseries_sample (series_id, ts, value, quality)", with_position=False)
        return len(rows), None, True
    if len(rows) <= SMALL_BATCH:
        return (*_write_arrays(rows, policy), False)
    return (*_write_merge(rows, policy), False)


def _write_arrays(rows: _Rows, policy: Policy) -> tuple[int, np.ndarray | None]:
    """One INSERT ... SELECT FROM unnest(four arrays) ON CONFLICT. Its text is the same for every
    batch (psycopg converts it once and keeps it), and PostgreSQL reads four array values instead
    of a statement with 400 parameters. Under KEEP, `RETURNING` names the rows inserted."""
    qualities = np.where(rows.quality_null, None, rows.qualities.astype(object)).tolist()
    arrays = [
        array_literal(map(str, rows.series_ids.tolist())),
        array_literal(map(str, rows.ts.tolist())),
        array_literal(map(repr, rows.values.tolist())),
        array_literal("NULL" if quality is None else str(quality) for quality in qualities),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
            "SELECT * FROM unnest(%s::int8[], %s::int8[], %s::float8[], %s::int2[]) "
            f"ON CONFLICT (series_id, ts) {_conflict_clause(policy)}",
            arrays,
        )
        if policy is Policy.OVERWRITE:
            return len(rows), None
        if cursor.rowcount == len(rows):  # everything inserted (the usual case): no rows to read
            return len(rows), np.empty(0, dtype=np.int64)
        inserted = {(sid, ts) for sid, ts in cursor.fetchall()}
    return _kept_from_inserted(rows, inserted)


def _write_merge(rows: _Rows, policy: Policy) -> tuple[int, np.ndarray | None]:
    """COPY into a temporary table and merge with one INSERT ... ON CONFLICT. Only KEEP needs each
    row's input position (to report the dropped ones), so only KEEP copies it."""
    keep = policy is Policy.KEEP
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE store_batch (series_id int8, ts int8, value float8"
            + (", position int8" if keep else "")
            + ", quality int2) ON COMMIT DROP"
        )
        columns = "series_id, ts, value, position, quality" if keep else "series_id, ts, value, quality"
        _copy(rows, f"store_batch ({columns})", with_position=keep)
        if not keep:
            cursor.execute(
                "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
                "SELECT series_id, ts, value, quality FROM store_batch "
                "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality"
            )
            return len(rows), None
        cursor.execute(
            "SELECT b.position FROM store_batch b JOIN timeseries_sample s "
            "ON s.series_id = b.series_id AND s.ts = b.ts"
        )
        dropped = np.asarray([row[0] for row in cursor.fetchall()], dtype=np.int64)
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
            "SELECT series_id, ts, value, quality FROM store_batch ON CONFLICT (series_id, ts) DO NOTHING"
        )
        return len(rows) - len(dropped), dropped


def _any_stored_in_ranges(series_ids: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> bool:
    """Whether any stored sample of series_ids[i] lies within [lows[i], highs[i]], the batch's
    range of that series: one index probe per series. False proves that nothing in the batch
    conflicts (writers hold the series locks).

    Spelled as a LATERAL subquery with LIMIT 1 so that each series is one probe of the primary
    key whatever the statistics say: as a plain join inside EXISTS, the planner, expecting an
    early match, chose a sequential scan of the whole table when one series made up most of it
    (measured on 100,000 samples: 9.5 ms against 0.07 ms)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM unnest(%s::int8[], %s::int8[], %s::int8[]) AS r(series_id, lo, hi) "
            "CROSS JOIN LATERAL (SELECT 1 FROM timeseries_sample s WHERE s.series_id = r.series_id "
            "AND s.ts >= r.lo AND s.ts <= r.hi LIMIT 1) AS stored)",
            [series_ids.tolist(), lows.tolist(), highs.tolist()],
        )
        return cursor.fetchone()[0]


def _copy(rows: _Rows, target: str, *, with_position: bool) -> None:
    payload = _binary_copy_payload(rows, with_position=with_position)
    sql = f"COPY {target} FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(payload)


def _binary_copy_payload(rows: _Rows, *, with_position: bool) -> bytes:
    """PostgreSQL's binary COPY format for (series_id, ts, value[, position], quality), built as
    numpy record arrays: each row is a field count, then a length and big-endian bytes per field
    (length -1 for a NULL quality). Rows without and with a quality are encoded as two runs,
    since their records differ in size; COPY does not care about row order."""
    fixed = [(">i8", rows.series_ids), (">i8", rows.ts), (">f8", rows.values)]
    if with_position:
        fixed.append((">i8", rows.positions))
    parts = [_COPY_HEADER]
    for has_quality in (False, True):
        selected = ~rows.quality_null if has_quality else rows.quality_null
        count = int(selected.sum())
        if not count:
            continue
        if count == len(rows):  # one run holds every row (the usual case): no copies by a mask
            selected = slice(None)
        dtype = [("fields", ">i2")]
        for i, (type_, _) in enumerate(fixed):
            dtype += [(f"len{i}", ">i4"), (f"val{i}", type_)]
        dtype += [("quality_len", ">i4")] + ([("quality", ">i2")] if has_quality else [])
        records = np.empty(count, dtype=dtype)
        records["fields"] = len(fixed) + 1
        for i, (type_, column) in enumerate(fixed):
            records[f"len{i}"] = np.dtype(type_).itemsize
            records[f"val{i}"] = column[selected]
        records["quality_len"] = 2 if has_quality else -1
        if has_quality:
            records["quality"] = rows.qualities[selected]
        parts.append(records.tobytes())
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def latest_refresh(series_ids: list[int], *, now_ms: int | None = None) -> None:
    """Set each series' latest sample, the newest at or before `now_ms` (default: now), and its
    next one (`next_ts`: the oldest after it), from the table itself: one index probe each per
    series, and right whatever the policy dropped or replaced; and bump each series' revision,
    which invalidates what is cached about its samples. Public for the other writers of the
    sample table (deleting ranges, retention), which must keep both true as well."""
    now_ms = clock.now_ms() if now_ms is None else now_ms
    probe = (
        "SELECT {col} FROM timeseries_sample s WHERE s.series_id = timeseries_series.id "
        "AND s.ts {cmp} %s ORDER BY s.ts {order} LIMIT 1"
    )
    newest = probe.format(col="{col}", cmp="<=", order="DESC")
    match, params = ids_match("id", series_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE timeseries_series SET revision = revision + 1, last_ts = ({newest.format(col='s.ts')}), "
            f"last_value = ({newest.format(col='s.value')}), "
            f"next_ts = ({probe.format(col='s.ts', cmp='>', order='ASC')}) "
            f"WHERE {match}",
            [now_ms, now_ms, now_ms, *params],
        )
