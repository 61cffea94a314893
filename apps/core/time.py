"""The project's clock and epoch-millisecond helpers: samples are stored as epoch-ms integers
(docs/decisions.md), so "now" and the ISO form of a stored timestamp are needed everywhere."""

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    """The current time in epoch milliseconds (UTC)."""
    return time.time_ns() // 1_000_000


def ms_to_iso(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC timestamp with milliseconds, e.g. 2024-01-01T00:00:00.000Z;
    outside the years 1-9999, which no datetime holds, the epoch ms as an integer."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return str(ms)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='milliseconds')}Z"
