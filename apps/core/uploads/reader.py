"""Reading an uploaded CSV file into records: size limit, encoding, delimiter, line numbers.

Shared by the sample import and the bulk configuration. Files are UTF-8 (a byte-order mark, as
spreadsheets write one, is skipped); the delimiter is `,` or `;`, chosen from the first
non-empty line (the one occurring more often outside quotes; `,` on a tie). Every record keeps
the number of the physical line it starts on, so that errors can name it even when a quoted
cell spans lines. Cells are stripped of surrounding blanks; blank lines are skipped.

A file is read either whole into memory (`csv_decode`, the sample import, which keeps every
value anyway) or as a stream from its staged path (`csv_open`, the bulk configuration, which
keeps far less than the file): both are checked the same way before any record is read.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.core.exceptions import Invalid

MAX_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";")
_NOT_UTF8 = "The file is not UTF-8 text (save it as “CSV UTF-8” in a spreadsheet)."


@dataclass(frozen=True)
class CsvText:
    """A decoded file and the delimiter its first line uses."""

    text: str
    delimiter: str

    def open(self) -> io.TextIOBase:
        return io.StringIO(self.text, newline="")


@dataclass(frozen=True)
class CsvFile:
    """A checked file on disk and the delimiter its first line uses, read as a stream."""

    path: Path
    delimiter: str

    def open(self) -> io.TextIOBase:
        return open(self.path, encoding="utf-8-sig", newline="")


_CHUNK = 1024 * 1024


def csv_open(path: Path, *, limit: int | None = None) -> CsvFile:
    """The file at `path`, checked as `csv_decode` checks one, in one pass of a megabyte at a
    time: Invalid (with the line) for a file over `limit` bytes, one that is not UTF-8, one with
    a NUL character or one of nothing but blanks."""
    limit = MAX_BYTES if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise Invalid(f"The file is larger than {size_label(limit)} ({size_label(size)}).", field="file")
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line, head, first = 1, "", None
    with open(path, "rb") as data:
        while True:
            chunk = data.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise Invalid(
                    _NOT_UTF8, field="file", index=line + exc.object.count(b"\n", 0, exc.start)
                ) from exc
            if "\x00" in text:
                at = line + text.count("\n", 0, text.index("\x00"))
                raise Invalid("The file is not a text file.", field="file", index=at)
            if first is None:
                head += text
                lines = head.splitlines(keepends=True)
                complete = lines if not chunk else lines[:-1]
                first = next((item for item in complete if item.strip()), None)
                head = "" if first is not None else (lines[-1] if lines and chunk else "")
            line += text.count("\n")
            if not chunk:
                break
    if first is None:
        raise Invalid("The file is empty.", field="file")
    return CsvFile(path=path, delimiter=delimiter_detect(first))


def csv_decode(data: bytes, *, limit: int | None = None) -> CsvText:
    """`data` as text with its delimiter. Invalid (with the line, as `index`) for a file over
    `limit` bytes, one that is not UTF-8, or one that holds nothing but blanks."""
    limit = MAX_BYTES if limit is None else limit
    if len(data) > limit:
        raise Invalid(f"The file is larger than {size_label(limit)} ({size_label(len(data))}).", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(_NOT_UTF8, field="file", index=data.count(b"\n", 0, exc.start) + 1) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise Invalid("The file is not a text file.", field="file", index=line)
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise Invalid("The file is empty.", field="file")
    return CsvText(text=text, delimiter=delimiter_detect(first))


def delimiter_detect(line: str) -> str:
    """`;` when it occurs more often than `,` outside double quotes in `line`, else `,`."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def csv_records(source: CsvText | CsvFile) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) of each non-blank record, in file order.

    Raises Invalid naming the line when the quoting is broken (an unclosed quote, a stray quote
    inside an unquoted cell) or a cell is longer than the csv module's limit (128 KiB): past that
    point the file cannot be read reliably.
    """
    with source.open() as stream:
        yield from _records(csv.reader(stream, delimiter=source.delimiter, strict=True))


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid(
                f"Unreadable CSV (broken quoting?) in the record starting on this line: {exc}.",
                field="file",
                index=line,
            ) from exc
        start, line = line, reader.line_num + 1
        cells = [cell.strip() for cell in cells]
        if any(cells):
            yield start, cells


def size_label(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"
