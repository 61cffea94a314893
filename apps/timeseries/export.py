"""A series' samples as CSV, streamed page by page.

The file is `timestamp,value,quality` with CRLF line ends (RFC 4180): the time in ISO 8601 UTC
with milliseconds, the value as Python's shortest repr that reads back to the same double, the
quality empty when unknown::

    timestamp,value,quality
    2024-03-01T00:00:00.000Z,12.5,
    2024-03-01T00:15:00.000Z,12.75,192

A sample whose time lies outside the years 1-9999 (the store's column holds any int8, and such
a time may have been written before every write path refused it) has its time written as its
epoch milliseconds (`253402300800000`): exact and unique, where clamping it to a representable
time would give two samples one time and misdate the value.

The times are written by `apps.core.time.ms_to_iso`. The rows are read with
`query.samples_after` (keyset pages on the primary key), so a history of any length is exported
with one page in memory at a time.
"""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from apps.core.time import ms_to_iso

from .query import samples_after

PAGE = 10_000
HEADER = "timestamp,value,quality\r\n"
_EPOCH = datetime(1970, 1, 1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def samples_csv(
    *, series_id: int, start_ms: int | None, end_ms: int | None, page: int = PAGE
) -> Iterator[str]:
    """The CSV of the series' samples in [start_ms, end_ms) (None: unbounded), oldest first, as
    one string per page of `page` samples, the header first."""
    yield HEADER
    after = None
    while True:
        rows = samples_after(
            series_id=series_id, start_ms=start_ms, end_ms=end_ms, after_ts=after, limit=page
        )
        if rows:
            yield "".join(
                f"{ms_to_iso(ts)},{value!r},{'' if quality is None else quality}\r\n"
                for ts, value, quality in rows
            )
        if len(rows) < page:
            return
        after = rows[-1].ts


def export_filename(*, label: str, start_ms: int | None, end_ms: int | None) -> str:
    """`<label>_<start>_<end>.csv` with compact UTC times (`all` for an open bound), safe as a
    download name."""

    def bound(ms: int | None) -> str:
        return "all" if ms is None else f"{_EPOCH + timedelta(milliseconds=ms):%Y%m%dT%H%M%SZ}"

    return f"{_UNSAFE.sub('-', label).strip('-') or 'series'}_{bound(start_ms)}_{bound(end_ms)}.csv"
