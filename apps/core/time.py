"""The project's clock and epoch-millisecond helpers: samples are stored as epoch-ms integers
(docs/decisions.md), so "now" and the ISO form of a stored timestamp are needed everywhere."""

import time
from datetime import UTC, datetime, timedelta

# The instants the store keeps, in epoch ms: 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z,
# what Python's datetime (and RFC 3339's four-digit year) can show, so that every reader can render
# every stored sample. Every write path refuses what lies outside, and so does `store.write`
# itself; the column holds any int8, so a sample written before the paths checked may lie outside.
MIN_TS_MS = -62_135_596_800_000
MAX_TS_MS = 253_402_300_799_999
TS_RANGE_TEXT = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    """The current time in epoch milliseconds (UTC)."""
    return time.time_ns() // 1_000_000


def datetime_to_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds, exact (integer arithmetic, no float), floored."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def ms_to_iso(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC timestamp with milliseconds, e.g. 2024-01-01T00:00:00.000Z;
    outside the years 1-9999, which no datetime holds, the epoch ms as an integer."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return str(ms)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='milliseconds')}Z"
