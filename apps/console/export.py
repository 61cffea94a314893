"""The export of several series at once (docs/energy.md, "Export"): what a request asks for
(`export_request_parse`) and the writers that stream it as CSV or write it as XLSX.

Raw samples are read page by page through the store's keyset reads (`query.samples_after`): a
page of each series in memory at a time, whatever the history's length. Statistics are read per
series (long form) or per chunk of days (wide form) through `statistics_read`, so a long range
of quarter-hours is never held whole either.

Shapes (delimiter `,` shown):

    long samples      series_id,timestamp,value          (the CSV import's long form, as is)
    long statistics   series_id,start,count,total,mean,min,max
    wide samples      timestamp,<label>,<label>...       (one row per time any series has)
    wide statistics   start,<label> count,<label> total,<label> mean,<label> min,<label> max,...

A label is the series' meter code, else its name. Times are ISO 8601 with milliseconds, in UTC
(`Z`) or in the series' zone with its offset (`+01:00`). Values are Python's shortest repr that
reads back to the same double, `.` replaced by `,` for a decimal comma; an unknown figure is an
empty cell.
"""

import csv
import heapq
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from apps.core.exceptions import Invalid
from apps.core.time import ms_to_iso
from apps.timeseries.models import Series, SeriesKind, ms_to_datetime
from apps.timeseries.query import samples_after
from apps.timeseries.selectors import BucketSize, series_zone, statistics_read
from apps.timeseries.stats.edges import bucket_count_bound, bucket_edges

from .analytics import _date, series_ids_parse

PAGE = 10_000  # samples read per page, shared by the series of a wide export
MIN_PAGE = 500
MAX_BUCKETS = 200_000  # buckets per series (5 years of quarter-hours)
XLSX_MAX_ROWS = 1_048_576  # a worksheet's rows, header included
SAMPLES = "samples"
LONG, WIDE = "long", "wide"
UTC_TIME, LOCAL_TIME = "utc", "local"
DELIMITERS = {",": ",", ";": ";"}
DECIMALS = (".", ",")
FIGURES = ("count", "total", "mean", "min", "max")
# Days of statistics read at once by a wide export (buckets of these sizes never span days).
_CHUNK_DAYS = {BucketSize.QUARTER_HOUR: 31, BucketSize.HOUR: 31, BucketSize.DAY: 366}


@dataclass(frozen=True, slots=True)
class ExportRequest:
    series_ids: list[int]
    start: date
    end: date
    bucket: BucketSize | None  # None: the raw samples
    shape: str
    time: str
    delimiter: str
    decimal: str


def _choice(query, name: str, choices: Iterable[str], default: str) -> str:
    value = query.get(name, "") or default
    if value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(repr(c) for c in choices)}", field=name)
    return value


def export_request_parse(query) -> ExportRequest:
    """The request's parameters, or Invalid (message and parameter) for the first one wrong."""
    series_ids = series_ids_parse(query, per="an export")
    start, end = _date(query, "start"), _date(query, "end")
    if end <= start:
        raise Invalid("end must be after start", field="end")
    raw_bucket = query.get("bucket", "") or SAMPLES
    if raw_bucket == SAMPLES:
        bucket = None
    else:
        try:
            bucket = BucketSize(raw_bucket)
        except ValueError:
            choices = ", ".join([SAMPLES, *(size.value for size in BucketSize)])
            raise Invalid(f"bucket must be one of {choices}", field="bucket") from None
        if bucket_count_bound(start=start, end=end, bucket=bucket) > 2 * MAX_BUCKETS:
            raise Invalid(f"the range holds more than {MAX_BUCKETS:,} buckets", field="end")
    shape = _choice(query, "shape", (LONG, WIDE), LONG)
    time = _choice(query, "time", (UTC_TIME, LOCAL_TIME), UTC_TIME)
    delimiter = _choice(query, "delimiter", DELIMITERS, ",")
    decimal = _choice(query, "decimal", DECIMALS, ".")
    if decimal == delimiter:
        raise Invalid(f"decimal {decimal!r} cannot be the delimiter too: use ';' with ','", field="decimal")
    return ExportRequest(series_ids, start, end, bucket, shape, time, delimiter, decimal)


def export_check(wanted: ExportRequest, series: list[Series]) -> list[int]:
    """What only the series tell: Invalid when the request cannot be answered for them; else the
    statistics' bucket count of each series' zone (empty for raw samples)."""
    zones = {series_zone(one) for one in series}
    if wanted.bucket is None:
        virtual = next((one for one in series if one.kind == SeriesKind.VIRTUAL), None)
        if virtual is not None:
            raise Invalid(
                f"series {virtual.pk} is virtual: it has statistics, not samples; choose a bucket",
                field="bucket",
            )
        if wanted.shape == WIDE and wanted.time == LOCAL_TIME and len(zones) > 1:
            raise Invalid("local times of a wide export need series of one time zone", field="time")
        return []
    if wanted.shape == WIDE and len(zones) > 1:
        raise Invalid("a wide export of statistics needs series of one time zone: use long", field="shape")
    counts = {
        zone: len(bucket_edges(zone=zone, start=wanted.start, end=wanted.end, bucket=wanted.bucket)) - 1
        for zone in zones
    }
    if max(counts.values()) > MAX_BUCKETS:
        raise Invalid(f"the range holds more than {MAX_BUCKETS:,} buckets", field="end")
    if any(one.kind == SeriesKind.VIRTUAL for one in series):  # a cycle is refused before streaming
        day = wanted.start + timedelta(days=1)
        statistics_read(series, start=wanted.start, end=day, bucket=wanted.bucket)
    return [counts[series_zone(one)] for one in series]


def export_rows(wanted: ExportRequest, counts: list[int]) -> int:
    """The rows of the export, its header included (statistics only)."""
    return 1 + (sum(counts) if wanted.shape == LONG else max(counts))


# --- cells ---------------------------------------------------------------------------------------


class _Cells:
    """Times and numbers as the request wants them written."""

    def __init__(self, wanted: ExportRequest):
        self.local = wanted.time == LOCAL_TIME
        self.comma = wanted.decimal == ","

    def ms(self, ms: int, zone: str) -> str:
        if not self.local:
            return ms_to_iso(ms)
        moment = ms_to_datetime(ms)
        if moment is None:
            return str(ms)
        return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="milliseconds")

    def start(self, start: datetime) -> str:
        """A bucket's start (aware, in the series' zone)."""
        if self.local:
            return start.isoformat(timespec="milliseconds")
        return f"{start.astimezone(ZoneInfo('UTC')).replace(tzinfo=None).isoformat(timespec='milliseconds')}Z"

    def number(self, value: float | int | None) -> str:
        if value is None:
            return ""
        text = repr(value)
        return text.replace(".", ",") if self.comma else text

    def ident(self, pk: int) -> str:
        return str(pk)


class _SheetCells(_Cells):
    """A worksheet's cells: numbers stay numbers (an empty cell for None)."""

    def number(self, value):
        return value

    def ident(self, pk: int) -> int:
        return pk


def label(series: Series) -> str:
    return series.meter_code or series.name


def header(wanted: ExportRequest, series: list[Series]) -> list[str]:
    if wanted.shape == LONG:
        if wanted.bucket is None:
            return ["series_id", "timestamp", "value"]
        return ["series_id", "start", *FIGURES]
    if wanted.bucket is None:
        return ["timestamp", *(label(one) for one in series)]
    return ["start", *(f"{label(one)} {figure}" for one in series for figure in FIGURES)]


# --- rows ----------------------------------------------------------------------------------------


def _day_bounds(series: Series, start: date, end: date) -> tuple[int, int]:
    edges = bucket_edges(zone=series_zone(series), start=start, end=end, bucket=BucketSize.DAY)
    return edges[0], edges[-1]


def _samples(series: Series, wanted: ExportRequest, page: int) -> Iterator[tuple[int, float]]:
    start_ms, end_ms = _day_bounds(series, wanted.start, wanted.end)
    after = None
    while True:
        rows = samples_after(
            series_id=series.pk, start_ms=start_ms, end_ms=end_ms, after_ts=after, limit=page
        )
        for ts, value, _quality in rows:
            yield ts, value
        if len(rows) < page:
            return
        after = rows[-1].ts


def _columned(column: int, samples: Iterator[tuple[int, float]]) -> Iterator[tuple[int, int, float]]:
    for ts, value in samples:
        yield ts, column, value


def _statistics_chunks(series: list[Series], wanted: ExportRequest):
    """`statistics_read` of `series` over the range, a chunk of days at a time where the
    buckets allow (never spanning a chunk's edge)."""
    days = _CHUNK_DAYS.get(wanted.bucket)
    if days is None:
        yield statistics_read(series, start=wanted.start, end=wanted.end, bucket=wanted.bucket)
        return
    start = wanted.start
    while start < wanted.end:
        end = min(start + timedelta(days=days), wanted.end)
        yield statistics_read(series, start=start, end=end, bucket=wanted.bucket)
        start = end


def _figures(read, index: int, cells: _Cells) -> list[str]:
    return [cells.number(getattr(read, figure)[index]) for figure in FIGURES]


def export_records(
    wanted: ExportRequest, series: list[Series], *, page: int = PAGE, cells: _Cells | None = None
) -> Iterator[list]:
    """The export's rows as lists of cells, the header first; `page` samples read at a time
    (shared by the series of a wide export)."""
    cells = cells or _Cells(wanted)
    yield header(wanted, series)
    if wanted.bucket is None and wanted.shape == LONG:
        for one in series:
            zone = series_zone(one)
            for ts, value in _samples(one, wanted, page):
                yield [cells.ident(one.pk), cells.ms(ts, zone), cells.number(value)]
    elif wanted.bucket is None:
        zone = series_zone(series[0])
        each = max(MIN_PAGE, page // len(series))
        streams = [_columned(column, _samples(one, wanted, each)) for column, one in enumerate(series)]
        for ts, group in groupby(heapq.merge(*streams), key=lambda point: point[0]):
            row = [cells.ms(ts, zone)] + [""] * len(series)
            for _ts, column, value in group:
                row[column + 1] = cells.number(value)
            yield row
    elif wanted.shape == LONG:
        for one in series:
            for chunk in _statistics_chunks([one], wanted):
                read = chunk[one.pk]
                for index, start in enumerate(read.starts):
                    yield [cells.ident(one.pk), cells.start(start), *_figures(read, index, cells)]
    else:
        for chunk in _statistics_chunks(series, wanted):
            reads = [chunk[one.pk] for one in series]
            for index, start in enumerate(reads[0].starts):
                yield [cells.start(start), *(cell for read in reads for cell in _figures(read, index, cells))]


# --- files ---------------------------------------------------------------------------------------


def csv_chunks(
    wanted: ExportRequest, series: list[Series], *, page: int = PAGE, rows: int = 1_000
) -> Iterator[str]:
    """The CSV (RFC 4180, CRLF), as one string per `rows` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[wanted.delimiter], lineterminator="\r\n")
    written = 0
    for record in export_records(wanted, series, page=page):
        writer.writerow(record)
        written += 1
        if written == rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            written = 0
    if written:
        yield buffer.getvalue()


def xlsx_file(wanted: ExportRequest, series: list[Series]):
    """The statistics as an XLSX workbook of one sheet, in a temporary file (openpyxl's write-only
    mode: rows go to disk as they are appended; the zip is only complete when saved). Numbers are
    numbers, times text as in the CSV (a spreadsheet date has no offset)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("statistics")
    for record in export_records(wanted, series, cells=_SheetCells(wanted)):
        sheet.append(record)
    target = tempfile.TemporaryFile()  # noqa: SIM115 closed by the response that sends it
    book.save(target)
    target.seek(0)
    return target


def export_filename(wanted: ExportRequest, extension: str) -> str:
    kind = SAMPLES if wanted.bucket is None else wanted.bucket.value
    return f"export_{kind}_{wanted.start:%Y%m%d}_{wanted.end:%Y%m%d}.{extension}"
