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
MAX_ERRORS, counting the rest. Wall clock times of the hour repeated when daylight-saving time
ends are read by the order of the lines, or as the person importing chooses where order cannot
tell (repeated.py). Within one series the last line of a repeated timestamp wins, as in every
import, and the job holds each (series, time) once: its counts are what is stored.

The lines are read by the two shapes' readers (shapes.py).
"""

from apps.core.exceptions import Invalid
from apps.core.uploads.reader import CsvText, csv_records
from apps.core.uploads.timestamps import CellError, TimestampReader
from apps.imports.models import ImportJob, ImportSource
from apps.imports.services import ImportRejected, import_accept

from .shapes import (
    LONG,
    MAX_ERRORS,
    MAX_METER_CODE,
    METER_CODE,
    SERIES_ID,
    WIDE,
    LongReader,
    SamplesCsv,
    WideReader,
    column_name,
    trimmed,
)

__all__ = ["MAX_ERRORS", "SamplesCsv", "csv_import_accept", "csv_samples_parse"]

ID_NAMES = {"meter_code": METER_CODE, "meter": METER_CODE, "code": METER_CODE, "meter code": METER_CODE}
ID_NAMES |= {"series_id": SERIES_ID, "series": SERIES_ID, "id": SERIES_ID, "series id": SERIES_ID}
TIME_NAMES = frozenset({"timestamp", "time", "datetime", "date_time", "date", "ts"})


def csv_samples_parse(
    source: CsvText, *, organization, time_zone: str, repeated_hour: str = ""
) -> SamplesCsv:
    """Read every line of `source`, resolve its identifiers in `organization` and report what
    was found. Wall times without offset are read in `time_zone`; `repeated_hour` ("earlier",
    "later" or "" to ask) is the offset of repeated-hour times the file's order does not decide.
    Never raises for bad content: errors are in the result, with their line."""
    result = SamplesCsv(
        delimiter=source.delimiter,
        decimal_comma=source.delimiter == ";",
        time_zone=time_zone,
        repeated_hour=repeated_hour,
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
        reader = LongReader(result, times) if result.form == LONG else WideReader(result, times)
        for line, cells in _chain(pending, records):
            reader.row(line, cells)
    except Invalid as exc:  # broken quoting: nothing after it can be trusted
        result.error(exc.index, exc.message)
        return result
    reader.finish(organization)
    result.errors.sort(key=lambda error: error.index or 0)
    result.time_kind = times.describe()
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
    elif len(trimmed(cells, 3)) == 3 and _is_time(cells[1]) and not _is_time(cells[0]):
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
        result.header = trimmed(cells, 2)
        result.header_line = line
    if result.form == LONG and result.header is not None and len(trimmed(cells, 3)) != 3:
        result.error(line, f"The long form has 3 columns (identifier, timestamp, value), not {len(cells)}.")
    if result.form == WIDE:
        cells = result.header
        if len(cells) < 2:
            result.error(line, "The wide form has a timestamp column, then one column per meter code.")
        seen: dict[str, int] = {}
        for index, code in enumerate(cells[1:], start=2):
            if not code:
                result.error(line, f"Column {index} has no meter code in the header.", column_name(index))
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
            where = column_name(column.column) if column.column else None
            message = f"Series {column.label!r} no longer exists in {organization}."
            errors.append(Invalid(message, field=where, index=column.line))
        raise ImportRejected(errors) from exc
