"""Reading an uploaded CSV file into records: size limit, encoding, delimiter, line numbers.

Shared by the sample import and the bulk configuration. Files are UTF-8 (a byte-order mark, as
spreadsheets write one, is skipped); the delimiter is `,` or `;`, chosen from the first
non-empty line (the one occurring more often outside quotes; `,` on a tie). Every record keeps
the number of the physical line it starts on, so that errors can name it even when a quoted
cell spans lines. Cells are stripped of surrounding blanks; blank lines are skipped.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from apps.core.exceptions import Invalid

MAX_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";")


@dataclass(frozen=True)
class CsvText:
    """A decoded file and the delimiter its first line uses."""

    text: str
    delimiter: str


def csv_decode(data: bytes, *, limit: int | None = None) -> CsvText:
    """`data` as text with its delimiter. Invalid (with the line, as `index`) for a file over
    `limit` bytes, one that is not UTF-8, or one that holds nothing but blanks."""
    limit = MAX_BYTES if limit is None else limit
    if len(data) > limit:
        raise Invalid(f"The file is larger than {size_label(limit)} ({size_label(len(data))}).", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise Invalid(
            "The file is not UTF-8 text (save it as “CSV UTF-8” in a spreadsheet).", field="file", index=line
        ) from exc
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


def csv_records(source: CsvText) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) of each non-blank record, in file order.

    Raises Invalid naming the line when the quoting is broken (an unclosed quote, a stray quote
    inside an unquoted cell) or a cell is longer than the csv module's limit (128 KiB): past that
    point the file cannot be read reliably.
    """
    reader = csv.reader(io.StringIO(source.text, newline=""), delimiter=source.delimiter, strict=True)
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
