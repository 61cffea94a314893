"""Timestamps of an uploaded CSV file, to epoch milliseconds (UTC).

A cell is either epoch time (digits, optionally with a decimal fraction) or ISO 8601 (anything
`datetime.fromisoformat` reads: `2024-03-01T12:00:00Z`, `2024-03-01 12:00:00.250+01:00`,
`2024-03-01 12:00`, `2024-03-01`). All-digit cells are always epoch time, so ISO's basic format
without separators (`20240301`) is read as epoch seconds.

- Epoch numbers below 10^11 are seconds, from 10^11 on milliseconds (10^11 s is the year 5138,
  10^11 ms is March 1973). The first timestamp of a file decides its kind; a later cell of the
  other kind (ISO in an epoch file, seconds in a milliseconds file) is an error, as it is
  almost always a mistake. Fractions finer than a millisecond are truncated.
- ISO timestamps with an offset (`Z`, `+01:00`) mean that instant. Without one they are wall
  clock times in the chosen time zone. A time that occurs twice (the hour repeated when clocks
  go back) is read here as its first occurrence (summer time, Python's `fold=0`) and reported
  (`last_shift`: how much later its second occurrence is), so that the file's order can decide
  which one each line means (repeated.py). A time that does not exist (the hour skipped when
  clocks go forward) is an error: the file's clock cannot have been the chosen zone's there,
  and shifting it by a guess would store a time nobody logged.
- Timestamps lie between 1970-01-01 and 9999-12-31 UTC, as in the API dialects: anything else
  is an error of its line, never stored.

Wall clock times are converted through a per-hour cache of the zone's offset (an hour whose
offset is the same at both ends and for both folds holds no change), so a file with a million
rows calls into zoneinfo a few thousand times, not a million.
"""

import enum
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apps.core.time import MAX_TS_MS  # 9999-12-31T23:59:59.999Z, as in the API dialects

EPOCH_MS_FROM = 10**11
HOUR_MS = 3_600_000
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1)
_LAST_MS_OF_HOUR = timedelta(milliseconds=HOUR_MS - 1)
_UNKNOWN = object()
# What a cell was, for the preview's counts.
_EPOCH_TIME, _OFFSET, _LOCAL, _AMBIGUOUS = "epoch", "offset", "local", "ambiguous"


class TimeKind(enum.StrEnum):
    ISO = "iso"
    EPOCH_SECONDS = "epoch_s"
    EPOCH_MILLISECONDS = "epoch_ms"


KIND_LABELS = {
    TimeKind.ISO: "ISO 8601",
    TimeKind.EPOCH_SECONDS: "epoch seconds",
    TimeKind.EPOCH_MILLISECONDS: "epoch milliseconds",
}


class CellError(ValueError):
    """A cell that is not a timestamp of the file's kind; the message completes 'Line n: '."""


def _wall_ms(dt: datetime) -> int:
    """Milliseconds from 1970-01-01 00:00 to `dt`'s wall clock reading, ignoring any offset."""
    seconds = (dt.hour * 60 + dt.minute) * 60 + dt.second
    return (dt.toordinal() - _EPOCH_ORDINAL) * 86_400_000 + seconds * 1000 + dt.microsecond // 1000


class TimestampReader:
    """Reads the timestamp cells of one file, in order, remembering the file's kind and what the
    preview reports (how many cells had an offset) and, in `last_shift`, whether the cell just
    read is a wall time of a repeated hour."""

    def __init__(self, time_zone: str):
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.kind: TimeKind | None = None
        self.kind_line: int | None = None
        self.with_offset = 0
        self.without_offset = 0
        self._hour_offsets: dict[int, int | None] = {}
        self._last_cell: str | None = None
        self._last_ms = 0
        self._last_category = _EPOCH_TIME
        self._last_shift = 0
        # For the cell just read: 0, or when it is a wall time of a repeated hour (read as its
        # first occurrence), how many ms later its second occurrence is.
        self.last_shift = 0

    def read(self, cell: str, line: int) -> int:
        """Epoch ms of `cell` (found on `line`); CellError when it is not a timestamp."""
        if cell != self._last_cell:  # long files repeat each time once per series
            self._last_ms, self._last_category, self._last_shift = self._parse(cell, line)
            self._last_cell = cell
        category = self._last_category
        self.last_shift = self._last_shift
        if category is _OFFSET:
            self.with_offset += 1
        elif category is not _EPOCH_TIME:
            self.without_offset += 1
        return self._last_ms

    def _parse(self, cell: str, line: int) -> tuple[int, str, int]:
        if not cell:
            raise CellError("The timestamp is missing")
        integer, dot, fraction = cell.partition(".")
        if integer.isdigit() and (not dot or fraction.isdigit()) and integer.isascii() and fraction.isascii():
            ms, category, shift = self._epoch(integer, fraction, line), _EPOCH_TIME, 0
        else:
            ms, category, shift = self._iso(cell, line)
        if not 0 <= ms <= MAX_TS_MS - shift:
            raise CellError(f"{cell!r} is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC")
        return ms, category, shift

    def _expect(self, kind: TimeKind, cell: str, line: int) -> None:
        if self.kind is None:
            self.kind, self.kind_line = kind, line
        elif self.kind is not kind:
            raise CellError(
                f"{cell!r} is read as {KIND_LABELS[kind]}, but the file's timestamps are "
                f"{KIND_LABELS[self.kind]} (line {self.kind_line})"
            )

    def _epoch(self, integer: str, fraction: str, line: int) -> int:
        whole = int(integer)
        if whole >= EPOCH_MS_FROM:
            self._expect(TimeKind.EPOCH_MILLISECONDS, f"{integer}.{fraction}" if fraction else integer, line)
            return whole
        self._expect(TimeKind.EPOCH_SECONDS, f"{integer}.{fraction}" if fraction else integer, line)
        return whole * 1000 + (int(fraction[:3].ljust(3, "0")) if fraction else 0)

    def _iso(self, cell: str, line: int) -> tuple[int, str, int]:
        try:
            dt = datetime.fromisoformat(cell)
        except ValueError:
            raise CellError(
                f"{cell!r} is not a timestamp (ISO 8601 like 2024-03-01T12:00:00Z, or epoch seconds or "
                "milliseconds)"
            ) from None
        self._expect(TimeKind.ISO, cell, line)
        wall = _wall_ms(dt)
        if dt.tzinfo is not None:
            return wall - dt.utcoffset() // timedelta(milliseconds=1), _OFFSET, 0
        offset = self._hour_offset(wall // HOUR_MS)
        if offset is not None:
            return wall - offset, _LOCAL, 0
        return self._local_slow(dt, wall, cell)

    def _hour_offset(self, hour: int) -> int | None:
        """The zone's offset (ms) throughout the wall clock hour `hour`, or None when the offset
        changes within it (or at its start): such hours take the exact path."""
        offset = self._hour_offsets.get(hour, _UNKNOWN)
        if offset is _UNKNOWN:
            start = _EPOCH + timedelta(hours=hour)
            offsets = {
                moment.replace(tzinfo=self.zone, fold=fold).utcoffset()
                for moment in (start, start + _LAST_MS_OF_HOUR)
                for fold in (0, 1)
            }
            offset = offsets.pop() // timedelta(milliseconds=1) if len(offsets) == 1 else None
            self._hour_offsets[hour] = offset
        return offset

    def _local_slow(self, dt: datetime, wall: int, cell: str) -> tuple[int, str, int]:
        first = dt.replace(tzinfo=self.zone, fold=0)
        offset = first.utcoffset() // timedelta(milliseconds=1)
        second = dt.replace(tzinfo=self.zone, fold=1).utcoffset() // timedelta(milliseconds=1)
        if offset == second:
            return wall - offset, _LOCAL, 0
        if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != dt:
            raise CellError(
                f"{cell!r} does not exist in {self.time_zone} (the clocks skip it when daylight-saving "
                "time starts)"
            )
        return wall - offset, _AMBIGUOUS, offset - second

    def describe(self) -> str:
        """The detected kind, as the preview states it."""
        if self.kind is None:
            return "none found"
        if self.kind is not TimeKind.ISO:
            return KIND_LABELS[self.kind]
        if not self.without_offset:
            return "ISO 8601 with UTC offsets"
        local = f"read as wall clock time in {self.time_zone}"
        if not self.with_offset:
            return f"ISO 8601 without offset, {local}"
        return (
            f"ISO 8601: {self.with_offset:,} with a UTC offset, {self.without_offset:,} without one ({local})"
        )
