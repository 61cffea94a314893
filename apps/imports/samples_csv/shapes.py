"""The two shapes of a samples file, read line by line into points (samples.py decides which one a
file has, and documents both), and what reading a file found (`SamplesCsv`).

After the last line, a reader settles what only the whole file tells: which pass of a repeated
daylight-saving hour each wall clock time means (repeated.py), the series the identifiers name,
and, where a series repeats a time, the later line's value: a job writes each (series, time)
once, so its counts are what is stored.
"""

import math
from array import array
from dataclasses import dataclass, field

import numpy as np

from apps.core.exceptions import Invalid
from apps.core.time import ms_to_iso
from apps.core.uploads.timestamps import CellError, TimestampReader
from apps.imports.services import ImportPoints, VariableRef
from apps.timeseries.models import Series
from apps.timeseries.selectors import series_resolve

from .repeated import RepeatedHours

MAX_ERRORS = 100
PREVIEW_ROWS = 10
PREVIEW_SERIES = 50
MAX_METER_CODE = Series._meta.get_field("meter_code").max_length
MAX_SERIES_ID = 2**63 - 1
LONG, WIDE = "long", "wide"
METER_CODE, SERIES_ID = "meter_code", "series_id"


@dataclass
class SeriesColumn:
    """One identifier of the file (a long file's meter code or id, a wide file's column) and the
    series it names in the organization (None: unknown). `line` is where it is named (a wide
    file's header); `first_line` and `first_value` are its first sample's line and value cell."""

    label: str
    line: int
    column: int | None
    points: int = 0
    first_line: int | None = None
    first_value: str = ""
    series_id: int | None = None
    series_name: str = ""
    unit: str = ""


@dataclass
class PreviewRow:
    line: int
    cells: list[str]
    at: str  # the row's time, ISO 8601 UTC, or "" when it could not be read


@dataclass
class SamplesCsv:
    """A parsed file: what was detected, the preview, the errors, and (when there are none) the
    points to import. `repeated_hour` is the offset chosen for repeated-hour times the file's
    order does not decide ("", "earlier", "later"); `undecided` counts those left without one."""

    form: str = ""
    identifiers: str = ""
    delimiter: str = ","
    decimal_comma: bool = False
    header: list[str] | None = None
    header_line: int | None = None
    time_zone: str = "UTC"
    repeated_hour: str = ""
    time_kind: str = ""
    rows: int = 0
    points: int = 0
    duplicates: int = 0
    undecided: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    columns: list[SeriesColumn] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)
    errors: list[Invalid] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)
    import_points: ImportPoints | None = None

    @property
    def ok(self) -> bool:
        return not self.error_count and self.import_points is not None

    @property
    def first_at(self) -> str:
        return "" if self.first_ms is None else ms_to_iso(self.first_ms)

    @property
    def last_at(self) -> str:
        return "" if self.last_ms is None else ms_to_iso(self.last_ms)

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    def error(self, line: int | None, message: str, column: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Invalid(message, field=column, index=line))


def trimmed(cells: list[str], width: int) -> list[str]:
    """`cells` without empty cells beyond `width` (spreadsheets pad lines with delimiters)."""
    end = len(cells)
    while end > width and not cells[end - 1]:
        end -= 1
    return cells[:end]


def column_name(index: int) -> str:
    return f"column {index}"


def _value(cell: str, decimal_comma: bool) -> float:
    if decimal_comma and "," in cell and "." not in cell:
        cell = cell.replace(",", ".", 1)
    try:
        value = float(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a number") from None
    if not math.isfinite(value):
        raise CellError(f"{cell!r} is not a finite number")
    return value


def _int64(values: array) -> np.ndarray:
    """A writable int64 view of `values` (no copy)."""
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.empty(0, np.int64)


class _Reader:
    """What both shapes share: the preview, the repeated hours, resolving the identifiers and
    the points. A time is kept in a slot (an index into the reader's array of times) so that a
    second-pass time can be moved once the whole file has been read."""

    def __init__(self, result: SamplesCsv, times: TimestampReader):
        self.result = result
        self.times = times
        self.repeated = RepeatedHours()
        self._preview_slots: list[tuple[PreviewRow, int, int]] = []  # (row, slot, ms)

    def _preview(self, line: int, cells: list[str], ms: int | None, slot: int | None = None) -> None:
        result = self.result
        if len(result.preview) < PREVIEW_ROWS:
            row = PreviewRow(line, cells, "" if ms is None else ms_to_iso(ms))
            result.preview.append(row)
            if slot is not None and self.times.last_shift:
                self._preview_slots.append((row, slot, ms))

    def _remember(self, sequence: int, ordinal: int, ms: int, line: int, slot: int, cell: str) -> None:
        """Keep the time just read, which falls in a repeated hour, for `_settle_repeated`."""
        self.repeated.add(
            sequence=sequence,
            ordinal=ordinal,
            ms=ms,
            shift=self.times.last_shift,
            line=line,
            slot=slot,
            cell=cell,
        )

    def _settle_repeated(self, ts: np.ndarray, column: str | None) -> None:
        """Move the second-pass times of `ts` (indexed by slot) an offset change later, report
        what was decided, and make every run the file's order cannot decide an error until an
        offset is chosen for them."""
        if not self.repeated:
            return
        result = self.result
        resolution = self.repeated.resolve(result.repeated_hour)
        if resolution.later:
            slots, shifts = np.asarray(resolution.later, dtype=np.int64).T
            ts[slots] += shifts
            moved = dict(resolution.later)
            for row, slot, ms in self._preview_slots:
                if slot in moved:
                    row.at = ms_to_iso(ms + moved[slot])
        for run in resolution.undecided:
            result.undecided += run.count
            result.error(run.first_line, run.message(result.time_zone), column)
        warning = resolution.warning(result.time_zone)
        if warning:
            result.warnings.append(warning)

    def _span(self, ts: np.ndarray) -> None:
        if len(ts):
            self.result.first_ms, self.result.last_ms = int(ts.min()), int(ts.max())

    def _resolve(self, organization, columns: list[SeriesColumn], refs: list[VariableRef]) -> None:
        """Fill in the series of each column; an unknown one is an error on its first line."""
        by_code, found_ids = series_resolve(
            organization=organization,
            meter_codes=[r.meter_code for r in refs if r.meter_code is not None],
            ids=[r.series_id for r in refs if r.meter_code is None],
        )
        for column, ref in zip(columns, refs, strict=True):
            if ref.meter_code is not None:
                column.series_id = by_code.get(ref.meter_code)
                missing = f"No series with meter code {ref.meter_code!r} in {organization}"
            else:
                column.series_id = ref.series_id if ref.series_id in found_ids else None
                missing = f"No series with id {ref.series_id} in {organization}"
            if column.series_id is None:
                lines = f" ({column.points:,} samples)" if column.points > 1 else ""
                self.result.error(
                    column.line, f"{missing}{lines}.", column_name(column.column) if column.column else None
                )
        shown = {c.series_id for c in columns[:PREVIEW_SERIES] if c.series_id is not None}
        names = Series.objects.filter(pk__in=shown).values_list("pk", "name", "unit")
        details = {pk: (name, unit) for pk, name, unit in names}
        for column in columns[:PREVIEW_SERIES]:
            column.series_name, column.unit = details.get(column.series_id, ("", ""))

    def _finish_points(self, used: list[int], refs, ts: np.ndarray, values: np.ndarray) -> None:
        """The points of the used columns (`used`, whose items are `refs`; `ts` and `values`
        grouped by column in that order, each column's in file order), one per (series, time):
        the later line of a repeated time wins, as it would when written in file order."""
        result = self.result
        lengths = np.asarray([self.columns[i].points for i in used], dtype=np.int64)
        item = np.repeat(np.arange(len(used), dtype=np.int64), lengths)
        if not ((item[1:] != item[:-1]) | (ts[1:] > ts[:-1])).all():  # a series out of time order
            # By item, then time; lexsort is stable, so file order stays among equal keys and the
            # last of each (item, time) run is the file's last line of it.
            order = np.lexsort((ts, item))
            item, ts, values = item[order], ts[order], values[order]
            last = np.ones(len(ts), dtype=bool)
            last[:-1] = (item[1:] != item[:-1]) | (ts[1:] != ts[:-1])
            item, ts, values = item[last], ts[last], values[last]
            result.duplicates = len(last) - len(ts)
            lengths = np.bincount(item, minlength=len(used)).astype(np.int64)
        for i, length in zip(used, lengths.tolist(), strict=True):
            self.columns[i].points = length
        result.points = len(ts)
        if result.duplicates:
            many = result.duplicates != 1
            result.warnings.append(
                f"{result.duplicates:,} line{'s' if many else ''} repeat{'' if many else 's'} the time of an "
                f"earlier line of {'their' if many else 'its'} series: the later line wins, so "
                f"{result.points:,} samples are imported."
            )
        if not result.error_count:
            result.import_points = ImportPoints(variables=refs, lengths=lengths, ts=ts, values=values)


class LongReader(_Reader):
    """identifier, timestamp, value: one sample a line, any series in any order. A series' lines,
    in file order, are its sequence for the repeated hours."""

    def __init__(self, result: SamplesCsv, times: TimestampReader):
        super().__init__(result, times)
        self.index: dict[str, int] = {}  # identifier cell -> position in self.columns
        self.columns: list[SeriesColumn] = []
        self.refs: list[VariableRef] = []
        self.ref_of = array("q")
        self.ts = array("q")
        self.values = array("d")

    def row(self, line: int, cells: list[str]) -> None:
        result = self.result
        result.rows += 1
        ms = None
        cells = trimmed(cells, 3)
        if len(cells) != 3:
            result.error(line, f"Expected 3 cells (identifier, timestamp, value), found {len(cells)}.")
            self._preview(line, cells, None)
            return
        ident, stamp, raw = cells
        position = self.index.get(ident)
        if position is None:
            position = self.index[ident] = self._new_ref(line, ident)
        try:
            ms = self.times.read(stamp, line)
            value = _value(raw, result.decimal_comma) if raw else None
            if value is None:
                raise CellError("The value is missing")
        except CellError as exc:
            result.error(line, f"{exc}.")
            self._preview(line, cells, ms)
            return
        if position < 0:
            self._preview(line, cells, ms)
            return
        slot = len(self.ts)
        self._preview(line, cells, ms, slot)
        column = self.columns[position]
        if self.times.last_shift:
            self._remember(position, column.points, ms, line, slot, stamp)
        if not column.points:
            column.first_line, column.first_value = line, raw
        column.points += 1
        self.ref_of.append(position)
        self.ts.append(ms)
        self.values.append(value)

    def _new_ref(self, line: int, ident: str) -> int:
        result = self.result
        if result.identifiers == SERIES_ID:
            if not (ident.isascii() and ident.isdigit() and 1 <= int(ident) <= MAX_SERIES_ID):
                result.error(line, f"{ident!r} is not a series id (a positive integer).")
                return -1
            ref = VariableRef(series_id=int(ident))
        else:
            if not ident or len(ident) > MAX_METER_CODE:
                result.error(
                    line, f"Expected a meter code (1 to {MAX_METER_CODE} characters), not {ident!r}."
                )
                return -1
            ref = VariableRef(meter_code=ident)
        self.columns.append(SeriesColumn(label=ident, line=line, column=None))
        self.refs.append(ref)
        return len(self.columns) - 1

    def finish(self, organization) -> None:
        self.result.columns = self.columns
        if self.columns:
            self._resolve(organization, self.columns, self.refs)
        ts = _int64(self.ts)
        self._settle_repeated(ts, None)
        self._span(ts)
        ref_of = _int64(self.ref_of)
        # Grouped by series; a stable sort keeps each series' lines in file order.
        order = np.argsort(ref_of, kind="stable")
        values = np.frombuffer(self.values, dtype=np.float64) if len(self.values) else np.empty(0)
        used = np.flatnonzero(np.bincount(ref_of, minlength=len(self.columns))).tolist()
        self._finish_points(used, [self.refs[i] for i in used], ts[order], values[order])


class WideReader(_Reader):
    """timestamp, then one value per meter code: one time a line. The rows, in file order, are
    the sequence for the repeated hours: a row's time is one slot shared by its columns."""

    def __init__(self, result: SamplesCsv, times: TimestampReader):
        super().__init__(result, times)
        header = result.header or []
        self.width = len(header)
        line = result.header_line or 1
        self.columns = [SeriesColumn(code, line, column) for column, code in enumerate(header[1:], start=2)]
        self.refs = [VariableRef(meter_code=code) for code in header[1:]]
        self.row_ts = array("q")  # each readable row's time
        self.rows = [array("q") for _ in self.columns]  # per column: the rows of its samples
        self.values = [array("d") for _ in self.columns]

    def row(self, line: int, cells: list[str]) -> None:
        result = self.result
        result.rows += 1
        ms = None
        cells = trimmed(cells, self.width)
        if len(cells) > self.width:
            result.error(line, f"Expected at most {self.width} cells, as in the header, found {len(cells)}.")
            self._preview(line, cells, None)
            return
        try:
            ms = self.times.read(cells[0], line)
        except CellError as exc:
            result.error(line, f"{exc}.", column_name(1))
            self._preview(line, cells, None)
            return
        slot = len(self.row_ts)
        self._preview(line, cells, ms, slot)
        if self.times.last_shift:
            self._remember(0, slot, ms, line, slot, cells[0])
        self.row_ts.append(ms)
        decimal_comma = result.decimal_comma
        for position, raw in enumerate(cells[1:]):
            if not raw:
                continue
            try:
                value = _value(raw, decimal_comma)
            except CellError as exc:
                result.error(line, f"{exc} ({self.columns[position].label}).", column_name(position + 2))
                continue
            column = self.columns[position]
            if not column.points:
                column.first_line, column.first_value = line, raw
            column.points += 1
            self.rows[position].append(slot)
            self.values[position].append(value)

    def finish(self, organization) -> None:
        self.result.columns = self.columns
        if self.columns:
            self._resolve(organization, self.columns, self.refs)
        row_ts = _int64(self.row_ts)
        self._settle_repeated(row_ts, column_name(1))
        self._span(row_ts)
        used = [i for i, column in enumerate(self.columns) if column.points]
        ts = [row_ts[_int64(self.rows[i])] for i in used]
        values = [np.frombuffer(self.values[i], dtype=np.float64) for i in used]
        self._finish_points(
            used,
            [self.refs[i] for i in used],
            np.concatenate(ts) if ts else np.empty(0, np.int64),
            np.concatenate(values) if values else np.empty(0),
        )
