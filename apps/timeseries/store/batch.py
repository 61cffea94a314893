"""A write's batch before any SQL: the types callers build and get back, its validation, and the
vectorised de-duplication and per-series ranges every write computes.

Separate from the SQL paths because none of this touches the database: it is the numpy half of a
write, the same whichever backend the rows then reach.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from apps.core.exceptions import Invalid

from ..models import MAX_TS_MS, MIN_TS_MS, TS_RANGE_TEXT


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
class Rows:
    """A validated batch as numpy columns, plus each row's position in the caller's batch."""

    series_ids: np.ndarray  # int64
    ts: np.ndarray  # int64
    values: np.ndarray  # float64
    qualities: np.ndarray  # int16, meaningless where quality_null
    quality_null: np.ndarray  # bool
    positions: np.ndarray  # int64

    def take(self, index: np.ndarray) -> "Rows":
        return Rows(*(getattr(self, f.name)[index] for f in fields(self)))

    def __len__(self) -> int:
        return len(self.ts)

    def quality_list(self) -> list[int | None]:
        """The qualities as Python values, None where unknown."""
        return np.where(self.quality_null, None, self.qualities.astype(object)).tolist()

    def as_tuples(self) -> list[tuple]:
        columns = (self.series_ids.tolist(), self.ts.tolist(), self.values.tolist(), self.quality_list())
        return list(zip(*columns, strict=True))


def rows_validated(batch: SampleBatch) -> Rows:
    """`batch` as numpy columns; raises Invalid for arrays of different lengths, values that are
    not finite numbers, and out-of-range qualities and timestamps (pointing at the first)."""
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
    return Rows(series_ids, ts, values, qualities, quality_null, np.arange(n, dtype=np.int64))


def ts_outside_range(ts: np.ndarray) -> np.ndarray:
    """Positions of the epoch-ms timestamps outside [MIN_TS_MS, MAX_TS_MS], ascending: the range
    check of whole arrays (the store's own, the Blynk history import's); parsers that read one
    timestamp at a time compare with the two constants."""
    return np.flatnonzero((ts < MIN_TS_MS) | (ts > MAX_TS_MS))


def unique_positions(series_ids: np.ndarray, ts: np.ndarray, *, keep_first: bool) -> np.ndarray | None:
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


def series_ranges(series_ids: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
