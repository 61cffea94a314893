"""The store's writes: one function, `write`, through which every sample enters the database.

Why hand-written SQL and no ORM: a 2 MB import holds ~68,000 points and a history backfill
millions; one model instance per sample would cost more than the database work itself. Batches
travel as numpy arrays, are de-duplicated vectorised, and reach PostgreSQL as one binary COPY
payload built without a Python object per row (small batches: as the four array values of one
INSERT).

Concurrency: a write first locks its series rows (`FOR NO KEY UPDATE`, in id order, so writers
never deadlock). Writers of the same series therefore take turns, which is what makes the
"does anything conflict?" check (postgresql_copy.py) and the latest-sample upkeep exact; writers of different
series never wait for each other.

Order: the stored value of a sample is that of the write accepted last. A write is accepted when
it is applied, unless it was accepted earlier and numbered then (`write_accept`, for import jobs:
`write(..., seq=)`); how an earlier-accepted write is kept from undoing later ones is in
write_order.py. With no import pending on its series, a write does nothing more for this.

Time: a series' latest sample (`last_ts`, `last_value`) is the newest at or before the time of
the write; a sample dated later is stored, and noted in `next_ts`, but is not current until its
time comes (readers: `selectors.series_current`).

The package: this module holds `write`, the one entry point, and the order of its steps (its
callers import everything from here); batch.py the types and the numpy work before any SQL;
insert.py and postgresql_copy.py the statements by backend and batch size; latest.py the
latest-sample upkeep, which the other writers of the sample table call too. `write` stays in the
package itself, not in a module of its own, because the benchmarks swap the statistics upkeep it
calls on this module (`statistics_add`, `statistics_recompute`, `series_tails`, `statistics_append`:
bench/statistics_upkeep.py).
"""

import numpy as np
from django.db import connection, transaction
from prometheus_client import Counter

from .. import write_order
from ..models import MAX_TS_MS, MIN_TS_MS, TS_RANGE_TEXT
from ..stats.append import series_tails, statistics_append
from ..stats.buckets import statistics_recompute
from ..stats.bulk import statistics_add
from ..write_order import series_lock, series_lock_calendars, write_accept, write_pending, write_release
from . import postgresql_copy
from .batch import (
    Policy,
    Rows,
    SampleBatch,
    WriteResult,
    rows_validated,
    series_ranges,
    ts_outside_range,
    unique_positions,
)
from .insert import values_write
from .latest import latest_refresh
from .postgresql_copy import postgresql_write

__all__ = [
    "MAX_TS_MS",
    "MIN_TS_MS",
    "TS_RANGE_TEXT",
    "Policy",
    "SampleBatch",
    "WriteResult",
    "latest_refresh",
    "series_lock",
    "ts_outside_range",
    "write",
    "write_accept",
    "write_pending",
    "write_release",
]

# Exposed by apps.observability (prometheus_client's default registry; see apps.core.metrics).
POINTS_WRITTEN = Counter("ems_points_written_total", "Samples inserted or replaced by the store.", ["policy"])


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
    rows = rows_validated(batch)
    if not len(rows):
        return WriteResult(written=0)
    keep_first = policy is Policy.KEEP
    unique = unique_positions(rows.series_ids, rows.ts, keep_first=keep_first)
    dropped = np.setdiff1d(np.arange(len(rows)), unique) if keep_first and unique is not None else None
    if unique is not None:
        rows = rows.take(unique)

    ranges = series_ranges(rows.series_ids, rows.ts)
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
        # Each series' newest stored sample, before the write: a pure append merges its statistics.
        # Not where PostgreSQL may copy the batch (its statistics then come from its arrays).
        small = connection.vendor != "postgresql" or len(rows) < postgresql_copy.COPY_BATCH
        tails = series_tails(np.unique(rows.series_ids).tolist(), calendars) if len(rows) and small else {}
        if len(rows):
            if connection.vendor == "postgresql":
                written, dropped_stored, copied = postgresql_write(rows, policy, ranges)
            else:
                written, dropped_stored = values_write(rows, policy)
        if marked is not None and marked.any():
            write_order.mark(series_ids=rows.series_ids[marked], ts=rows.ts[marked], seq=seq)
        if copied:  # new samples only: their statistics from the arrays
            statistics_add(rows.series_ids, rows.ts, rows.values, calendars=calendars)
        elif written:
            appended = statistics_append(
                rows.series_ids, rows.ts, rows.values, tails=tails, calendars=calendars
            )
            statistics_recompute(
                [r for r in zip(*(c.tolist() for c in ranges), strict=True) if r[0] not in appended],
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
    rows: Rows,
    policy: Policy,
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray],
    pending: dict[int, int],
    seq: int | None,
) -> tuple[Rows, np.ndarray | None, int | None]:
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
