"""Where the buckets of a statistics read lie: local calendar buckets of a zone, as UTC edges.

A read names local dates [start, end) and a bucket size; the buckets are the whole calendar
buckets of the zone that hold any of those days (a week from the Monday on or before `start`, a
month from its first), each [edges[i], edges[i + 1]) in epoch ms. Local midnights come from
zoneinfo (query.local_day_edges), so a day is 23 or 25 hours long across a daylight-saving
change; a local hour starts where the zone's wall clock shows a whole hour, which is a UTC
quarter-hour in every zone in use (+5:30, +5:45 and -3:30 included), and an hour cut short by
a change of offset (Lord Howe's half-hour change) is a bucket of its own, starting at the change.
"""

import enum
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from ..query import local_day_edges, local_month_edges
from .calendar import QUARTER_MS

HOUR_MS = 3_600_000


class BucketSize(enum.StrEnum):
    QUARTER_HOUR = "quarter_hour"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def from_days(self) -> bool:
        """Answered from the daily table (whole local days) rather than the quarter-hour table."""
        return self not in (BucketSize.QUARTER_HOUR, BucketSize.HOUR)


# Upper bound of buckets per local day, to refuse a range before its edges are computed.
_MOST_PER_DAY = {BucketSize.QUARTER_HOUR: 100, BucketSize.HOUR: 25}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_count_bound(*, start: date, end: date, bucket: BucketSize) -> int:
    """At least as many buckets as `bucket_edges` would give for [start, end): cheap, so that a
    read of centuries of quarter-hours is refused before anything is computed."""
    days = (end - start).days
    if bucket in _MOST_PER_DAY:
        return days * _MOST_PER_DAY[bucket]
    per = {BucketSize.DAY: 1, BucketSize.WEEK: 7, BucketSize.MONTH: 28, BucketSize.YEAR: 365}[bucket]
    return days // per + 2


def bucket_edges(*, zone: str, start: date, end: date, bucket: BucketSize | str) -> list[int]:
    """UTC edges (epoch ms, ascending) of the `bucket` buckets of `zone` that hold any local day
    of [start, end): n buckets, n + 1 edges; none when `end <= start`."""
    bucket = BucketSize(bucket)
    if end <= start:
        return []
    if bucket is BucketSize.DAY:
        return local_day_edges(tz=zone, start=start, end=end)
    if bucket is BucketSize.WEEK:
        first = start - timedelta(days=start.weekday())
        last = end - timedelta(days=1)
        after = last + timedelta(days=7 - last.weekday())
        return local_day_edges(tz=zone, start=first, end=after)[::7]
    if bucket is BucketSize.MONTH:
        return local_month_edges(tz=zone, start=start, end=end)
    if bucket is BucketSize.YEAR:
        years = range(start.year, (end - timedelta(days=1)).year + 2)
        return [local_day_edges(tz=zone, start=date(y, 1, 1), end=date(y, 1, 2))[0] for y in years]
    days = local_day_edges(tz=zone, start=start, end=end)
    if bucket is BucketSize.QUARTER_HOUR:
        return [*range(days[0], days[-1], QUARTER_MS), days[-1]]
    return _hour_edges(ZoneInfo(zone), days)


def _offset_ms(ms: int, zone: ZoneInfo) -> int:
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(zone).utcoffset() // timedelta(milliseconds=1)


def _hour_edges(zone: ZoneInfo, days: list[int]) -> list[int]:
    """The local hours of the days between `days`' edges: a constant offset puts them an hour
    apart from local midnight; a day whose offset changes is split where it changes (found by
    halving over its quarter-hours), and the hours after the change start where the new wall
    clock shows a whole hour. One change a day at most, as in every zone's rules."""
    edges: list[int] = []
    for low, high in pairwise(days):
        before, after = _offset_ms(low, zone), _offset_ms(high - 1, zone)
        if before == after:
            edges.extend(range(low, high, HOUR_MS))
            continue
        lo, hi = low, high - QUARTER_MS  # offset(lo) == before, offset(hi) == after
        while hi - lo > QUARTER_MS:
            middle = lo + (hi - lo) // (2 * QUARTER_MS) * QUARTER_MS
            if _offset_ms(middle, zone) == before:
                lo = middle
            else:
                hi = middle
        change = hi
        edges.extend(range(low, change, HOUR_MS))
        if edges[-1] != change:
            edges.append(change)
        first_whole = change + (-(change + after)) % HOUR_MS
        edges.extend(range(first_whole if first_whole > change else first_whole + HOUR_MS, high, HOUR_MS))
    edges.append(days[-1])
    return edges
