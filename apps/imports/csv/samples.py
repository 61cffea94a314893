"""Samples from an uploaded CSV file: detect its shape, validate every line, preview it, and
accept it as an ImportJob (dialect "csv") exactly as the API dialects' imports are accepted.

Two shapes are read (delimiter `,` or `;`, see reader.py; timestamps, see timestamps.py):

Long form, one sample a line; the header names the identifier column and is optional (without
one the identifiers are meter codes)::

    meter_code,timestamp,value          series_id;timestamp;value
    main,2024-03-01T00:00:00Z,12.5      17;1709251200;12,5
    main,2024-03-01T00:15:00Z,12.75     17;1709252100;12,75

Wide form, one time a line and one column per meter code; the header is required and its first
cell names the time column (`timestamp`, `time`, `datetime`, `date` or `ts`)::

    timestamp,main,sub
    2024-03-01 00:00,12.5,3.1
    2024-03-01 00:15,12.75,

An empty cell of the wide form is no sample (meters with different intervals share a file); in
the long form it is an error. Values are decimal numbers (`1.5`, `-2`, `1e3`); in a file
delimited by `;` a decimal comma (`12,5`) is read too. Identifiers are resolved in the chosen
organization only: another organization's meter code or series id is unknown, like a missing one.

How the form is told: a header whose first cell is an identifier name (`meter_code`, `meter`,
`code`, `series_id`, `series`, `id`) is the long form, one whose first cell is a time name is the
wide form; otherwise a first line of three cells whose second is a timestamp (and the first is
not) is a long file without header, a first cell holding a timestamp on the second line a wide
one, and a file of three cells with a timestamp second a long one with an unnamed header.

Every line is validated; errors name their line (and column) and are reported up to
MAX_ERRORS, counting the rest. Within one series the last line of a repeated timestamp wins,
as in every import.
"""

import math
from array import array
from dataclasses import dataclass, field

import numpy as np

from apps.core.exceptions import Invalid
from apps.imports.models import ImportJob, ImportSource
from apps.imports.services import ImportPoints, ImportRejected, VariableRef, import_accept
from apps.timeseries.export import ms_to_iso
from apps.timeseries.models import Series
from apps.timeseries.selectors import series_resolve

from .reader import CsvText, csv_records
from .timestamps import CellError, TimestampReader

MAX_ERRORS = 100
PREVIEW_ROWS = 10
PREVIEW_SERIES = 50
MAX_METER_CODE = Series._meta.get_field("meter_code").max_length
MAX_SERIES_ID = 2**63 - 1
LONG, WIDE = "long", "wide"
METER_CODE, SERIES_ID = "meter_code", "series_id"
ID_NAMES = {"meter_code": METER_CODE, "meter": METER_CODE, "code": METER_CODE, "meter code": METER_CODE}
ID_NAMES |= {"series_id": SERIES_ID, "series": SERIES_ID, "id": SERIES_ID, "series id": SERIES_ID}
TIME_NAMES = frozenset({"timestamp", "time", "datetime", "date_time", "date", "ts"})


@dataclass
class SeriesColumn:
    """One identifier of the file (a long file's meter code or id, a wide file's column) and the
    series it names in the organization (None: unknown)."""

    label: str
    line: int
    column: int | None
    points: int = 0
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
    points to import."""

    form: str = ""
    identifiers: str = ""
    delimiter: str = ","
    decimal_comma: bool = False
    header: list[str] | None = None
    header_line: int | None = None
    time_zone: str = "UTC"
    time_kind: str = ""
    rows: int = 0
    points: int = 0
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


def csv_samples_parse(source: CsvText, *, organization, time_zone: str) -> SamplesCsv:
    """Read every line of `source`, resolve its identifiers in `organization` and report what
    was found. Never raises for bad content: errors are in the result, with their line."""
    result = SamplesCsv(
        delimiter=source.delimiter, decimal_comma=source.delimiter == ";", time_zone=time_zone
    )
    times = TimestampReader(time_zone)
    try:
        records = csv_records(source)
        first = next(records, None)
        if first is None:
            result.error(None, "The file holds no lines.")
            return result
        second = next(records, None)
        _detect(result, first, second)
        if result.error_count:
            return result
        pending = ([] if result.header is not None else [first]) + ([second] if second else [])
        reader = _LongReader(result, times) if result.form == LONG else _WideReader(result, times)
        for line, cells in _chain(pending, records):
            reader.row(line, cells)
    except Invalid as exc:  # broken quoting: nothing after it can be trusted
        result.error(exc.index, exc.message)
        return result
    reader.finish(organization)
    result.errors.sort(key=lambda error: error.index or 0)
    result.time_kind = times.describe()
    if times.ambiguous:
        result.warnings.append(
            f"{times.ambiguous:,} timestamp{'s' if times.ambiguous != 1 else ''} (first on line "
            f"{times.ambiguous_first_line}) fall in the hour repeated when daylight-saving time ends in "
            f"{time_zone}: each is read as its first occurrence (summer time). Give UTC offsets to "
            "import the second one."
        )
    if not result.points and not result.error_count:
        result.error(None, "The file holds no samples.")
    return result


def _chain(pending, records):
    yield from pending
    yield from records


def _detect(result: SamplesCsv, first, second) -> None:
    """Decide the form from the first two records (see the module docstring)."""
    line, cells = first
    name = cells[0].lower()
    if name in ID_NAMES:
        result.form, result.identifiers, result.header = LONG, ID_NAMES[name], cells
    elif name in TIME_NAMES:
        result.form, result.identifiers, result.header = WIDE, METER_CODE, cells
    elif len(_trimmed(cells, 3)) == 3 and _is_time(cells[1]) and not _is_time(cells[0]):
        result.form, result.identifiers = LONG, METER_CODE
    elif second is not None and _is_time(second[1][0]) and not _is_time(cells[0]):
        result.form, result.identifiers, result.header = WIDE, METER_CODE, cells
    elif second is not None and len(cells) == 3 and len(second[1]) > 1 and _is_time(second[1][1]):
        result.form, result.identifiers, result.header = LONG, METER_CODE, cells
    else:
        result.error(
            line,
            "Cannot tell the form of the file. Start the long form's header with meter_code or series_id "
            "(meter_code,timestamp,value) and the wide form's with timestamp (timestamp,<meter code>,...).",
        )
        return
    if result.header is not None:
        result.header = _trimmed(cells, 2)
        result.header_line = line
    if result.form == LONG and result.header is not None and len(_trimmed(cells, 3)) != 3:
        result.error(line, f"The long form has 3 columns (identifier, timestamp, value), not {len(cells)}.")
    if result.form == WIDE:
        cells = result.header
        if len(cells) < 2:
            result.error(line, "The wide form has a timestamp column, then one column per meter code.")
        seen: dict[str, int] = {}
        for index, code in enumerate(cells[1:], start=2):
            if not code:
                result.error(line, f"Column {index} has no meter code in the header.", _column(index))
            elif len(code) > MAX_METER_CODE:
                result.error(line, f"Meter code {code[:20]!r}... is longer than {MAX_METER_CODE} characters.")
            elif code in seen:
                result.error(line, f"Column {index} repeats meter code {code!r} of column {seen[code]}.")
            else:
                seen[code] = index


def _is_time(cell: str) -> bool:
    try:
        TimestampReader("UTC").read(cell, 0)
    except CellError:
        return False
    return True


def _trimmed(cells: list[str], width: int) -> list[str]:
    """`cells` without empty cells beyond `width` (spreadsheets pad lines with delimiters)."""
    end = len(cells)
    while end > width and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _column(index: int) -> str:
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


class _Reader:
    def __init__(self, result: SamplesCsv, times: TimestampReader):
        self.result = result
        self.times = times

    def _preview(self, line: int, cells: list[str], ms: int | None) -> None:
        result = self.result
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append(PreviewRow(line, cells, "" if ms is None else ms_to_iso(ms)))

    def _span(self, ms: int) -> None:
        result = self.result
        if result.first_ms is None or ms < result.first_ms:
            result.first_ms = ms
        if result.last_ms is None or ms > result.last_ms:
            result.last_ms = ms

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
                    column.line, f"{missing}{lines}.", _column(column.column) if column.column else None
                )
        shown = {c.series_id for c in columns[:PREVIEW_SERIES] if c.series_id is not None}
        names = Series.objects.filter(pk__in=shown).values_list("pk", "name", "unit")
        details = {pk: (name, unit) for pk, name, unit in names}
        for column in columns[:PREVIEW_SERIES]:
            column.series_name, column.unit = details.get(column.series_id, ("", ""))

    def _finish_points(self, refs, lengths, ts: np.ndarray, values: np.ndarray) -> None:
        result = self.result
        result.points = len(ts)
        if not result.error_count:
            result.import_points = ImportPoints(
                variables=refs, lengths=np.asarray(lengths, dtype=np.int64), ts=ts, values=values
            )


class _LongReader(_Reader):
    """identifier, timestamp, value: one sample a line, any series in any order."""

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
        cells = _trimmed(cells, 3)
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
        self._preview(line, cells, ms)
        if position < 0:
            return
        self._span(ms)
        self.columns[position].points += 1
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
        ref_of = np.frombuffer(self.ref_of, dtype=np.int64) if len(self.ref_of) else np.empty(0, np.int64)
        # One item per series: a stable sort keeps each series' lines in file order, so the last
        # line of a repeated timestamp still wins.
        order = np.argsort(ref_of, kind="stable")
        ts = np.frombuffer(self.ts, dtype=np.int64)[order] if len(self.ts) else np.empty(0, np.int64)
        values = np.frombuffer(self.values, dtype=np.float64)[order] if len(self.values) else np.empty(0)
        counts = np.bincount(ref_of, minlength=len(self.columns))
        used = np.flatnonzero(counts)
        self._finish_points([self.refs[i] for i in used], counts[used], ts, values)


class _WideReader(_Reader):
    """timestamp, then one value per meter code: one time a line."""

    def __init__(self, result: SamplesCsv, times: TimestampReader):
        super().__init__(result, times)
        header = result.header or []
        self.width = len(header)
        line = result.header_line or 1
        self.columns = [SeriesColumn(code, line, column) for column, code in enumerate(header[1:], start=2)]
        self.refs = [VariableRef(meter_code=code) for code in header[1:]]
        self.ts = [array("q") for _ in self.columns]
        self.values = [array("d") for _ in self.columns]

    def row(self, line: int, cells: list[str]) -> None:
        result = self.result
        result.rows += 1
        ms = None
        cells = _trimmed(cells, self.width)
        if len(cells) > self.width:
            result.error(line, f"Expected at most {self.width} cells, as in the header, found {len(cells)}.")
            self._preview(line, cells, None)
            return
        try:
            ms = self.times.read(cells[0], line)
        except CellError as exc:
            result.error(line, f"{exc}.", _column(1))
            self._preview(line, cells, None)
            return
        self._preview(line, cells, ms)
        self._span(ms)
        decimal_comma = result.decimal_comma
        for position, raw in enumerate(cells[1:]):
            if not raw:
                continue
            try:
                value = _value(raw, decimal_comma)
            except CellError as exc:
                result.error(line, f"{exc} ({self.columns[position].label}).", _column(position + 2))
                continue
            self.columns[position].points += 1
            self.ts[position].append(ms)
            self.values[position].append(value)

    def finish(self, organization) -> None:
        self.result.columns = self.columns
        if self.columns:
            self._resolve(organization, self.columns, self.refs)
        used = [i for i, column in enumerate(self.columns) if column.points]
        ts = [np.frombuffer(self.ts[i], dtype=np.int64) for i in used]
        values = [np.frombuffer(self.values[i], dtype=np.float64) for i in used]
        self._finish_points(
            [self.refs[i] for i in used],
            [self.columns[i].points for i in used],
            np.concatenate(ts) if ts else np.empty(0, np.int64),
            np.concatenate(values) if values else np.empty(0),
        )


def csv_import_accept(*, organization, user, parsed: SamplesCsv) -> ImportJob:
    """Accept a parsed file without errors as an ImportJob (dialect "csv") of `user` in
    `organization`, through `import_accept`: stored durably, its run enqueued on commit.

    Raises ImportRejected with the file's errors (each Invalid's `index` is its line) when the
    file has any, or when a series it names no longer exists in the organization.
    """
    if not parsed.ok:
        raise ImportRejected(parsed.errors or [Invalid("The file holds no samples.")])
    points = parsed.import_points
    try:
        return import_accept(organization=organization, user=user, dialect=ImportSource.CSV, points=points)
    except ImportRejected as exc:
        # The items are the file's series in the order of `columns` (those with samples).
        columns = [c for c in parsed.columns if c.points]
        errors = []
        for error in exc.errors:
            column = columns[error.index] if error.index is not None and error.index < len(columns) else None
            if column is None:
                errors.append(error)
                continue
            where = _column(column.column) if column.column else None
            message = f"Series {column.label!r} no longer exists in {organization}."
            errors.append(Invalid(message, field=where, index=column.line))
        raise ImportRejected(errors) from exc
