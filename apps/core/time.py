"""Instants as the project counts them: integer milliseconds since the Unix epoch (UTC).

`now_ms` is the current instant; `ms_to_iso` writes one the way files and pages show it. Neither
depends on an app: every layer may use them.
"""

import time
from datetime import datetime, timedelta

_EPOCH = datetime(1970, 1, 1)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def ms_to_iso(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds: `2024-03-01T12:00:00.000Z`; outside the years
    1-9999, which no datetime holds, the epoch ms as an integer (`253402300800000`)."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return str(ms)
    return f"{moment.isoformat(timespec='milliseconds')}Z"
