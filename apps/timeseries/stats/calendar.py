"""Where a series' buckets lie: UTC quarter-hours, and local days of its zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..models import MAX_TS_MS
from ..query import local_day_edges

QUARTER_MS = 900_000
DAY_MS = 86_400_000


def quarter_start(ts: int) -> int:
    """The start of the UTC quarter-hour holding epoch-ms `ts` (floor, negative times too)."""
    return ts - ts % QUARTER_MS


def bucket_shift(*, kind: str, interval_end: bool) -> int:
    """How far before its timestamp a sample is counted: an interval sample labelled with the end
    of its interval belongs to the interval before the label (1 ms earlier); every other sample
    to the quarter-hour holding its timestamp."""
    return 1 if kind == "interval" and interval_end else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local_date(ms: int, zone: ZoneInfo) -> date:
    """The local date of epoch-ms `ms` in `zone`; the UTC date at the ends of the years 1-9999,
    where the local one would lie outside them."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    try:
        return moment.astimezone(zone).date()
    except OverflowError:
        return moment.date()


def local_days(*, zone: str, start_ms: int, end_ms: int) -> list[tuple[int, int, date]]:
    """The local days of `zone` that hold any instant of [start_ms, end_ms), as (start, end,
    date), start and end in epoch ms: 23 or 25 hours long across a daylight-saving change."""
    if end_ms <= start_ms:
        return []
    tz = ZoneInfo(zone)
    first, last = local_date(start_ms, tz), local_date(end_ms - 1, tz)
    if last == date.max:  # 9999-12-31 ends at the end of the store's time, not on a date
        edges = [*local_day_edges(tz=zone, start=first, end=last), MAX_TS_MS + 1]
        if len(edges) == 1:
            edges.insert(0, local_day_edges(tz=zone, start=last - timedelta(days=1), end=last)[-1])
    else:
        edges = local_day_edges(tz=zone, start=first, end=last + timedelta(days=1))
    return [(edges[i], edges[i + 1], first + timedelta(days=i)) for i in range(len(edges) - 1)]
