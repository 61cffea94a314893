"""The rules that judge completed periods: consumption against its baseline, and gaps in an
interval series' day. Both read the statistics tables (apps/timeseries), never the samples:
a period's consumption is the sum of its quarter-hours' `consumption`, a day's sample count its
daily row's `count`.

Periods are local to each series' zone (its site's, else its organization's), as the statistics'
days are; hours and days are whole quarter-hours in every zone in use. The baseline of a period
is the mean of the same local weekday and hour (or day) over the previous 4 weeks, counting the
weeks that have statistics (a week without a row is no data, not zero).
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, IntegerField, Q, Sum, Value, When

from apps.core.time import datetime_to_ms
from apps.timeseries.models import DailyStatistics, QuarterHourStatistics, SeriesKind

from .lifecycle import Changes
from .models import AlarmRule, Period
from .scope import Pair

BASELINE_WEEKS = 4
QUARTER = timedelta(minutes=15)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def judged_windows(*, now: datetime, delay: timedelta, period: str, zone: str) -> list[tuple[int, int]]:
    """The last period of `zone` completed `delay` before `now`, then the same local weekday and
    hour (or day) 1 to 4 weeks before: (start ms, end ms) each, in UTC."""
    tz = ZoneInfo(zone)
    local = (now - delay).astimezone(tz)
    windows = []
    for week in range(BASELINE_WEEKS + 1):
        if period == Period.DAY:
            day = local.date() - timedelta(days=1 + 7 * week)
            start, end = _local(day, time(), tz), _local(day + timedelta(days=1), time(), tz)
        else:
            hour = local.replace(minute=0, second=0, microsecond=0, tzinfo=None) - timedelta(
                hours=1, weeks=week
            )
            start = _local(hour.date(), hour.time(), tz)
            end = start + timedelta(hours=1)
        windows.append((datetime_to_ms(start), datetime_to_ms(end)))
    return windows


def _consumption_totals(
    series_ids: list[int], windows: list[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    """(series, window index) -> the consumption of the window, for the windows with statistics."""
    in_windows = Q()
    whens = []
    for index, (start, end) in enumerate(windows):
        in_windows |= Q(start__gte=start, start__lt=end)
        whens.append(When(start__gte=start, start__lt=end, then=Value(index)))
    rows = (
        QuarterHourStatistics.objects.filter(in_windows, series_id__in=series_ids, consumption__isnull=False)
        .annotate(window=Case(*whens, output_field=IntegerField()))
        .values("series_id", "window")
        .annotate(total=Sum("consumption"))
        .values_list("series_id", "window", "total")
    )
    return {(series_id, window): total for series_id, window, total in rows}


def consumption_judge(
    changes: Changes,
    rules: list[AlarmRule],
    pairs_of: dict[int, list[Pair]],
    open_alarms: dict[tuple[int, int], tuple[int, float]],
) -> None:
    """Open, update or clear the consumption rules' alarms on their series' last completed
    period. The rules judging the same windows (period, delay, zone) share one query."""
    groups = defaultdict(list)
    for rule in rules:
        for pair in pairs_of.get(rule.pk, ()):
            if pair.series_kind in (SeriesKind.COUNTER, SeriesKind.INTERVAL):
                groups[(rule.period, rule.delay_minutes, pair.zone)].append((rule, pair.series_id))
    for (period, delay, zone), members in groups.items():
        windows = judged_windows(now=changes.now, delay=timedelta(minutes=delay), period=period, zone=zone)
        totals = _consumption_totals(sorted({series_id for _, series_id in members}), windows)
        start = datetime.fromtimestamp(windows[0][0] / 1000, ZoneInfo(zone))
        for rule, series_id in members:
            consumption = totals.get((series_id, 0))
            past = [totals[(series_id, w)] for w in range(1, BASELINE_WEEKS + 1) if (series_id, w) in totals]
            if consumption is None or not past:
                continue  # nothing to judge: the period or its baseline has no statistics
            baseline = sum(past) / len(past)
            above = consumption > 0 and consumption > baseline * rule.percent / 100
            alarm = open_alarms.get((rule.pk, series_id))
            if above and alarm is None:
                share = f"{consumption / baseline:.0%}" if baseline else "no consumption"
                changes.open(
                    rule,
                    series_id,
                    consumption,
                    f"Consumption {consumption:g} in the {period} from {start:%Y-%m-%d %H:%M} "
                    f"({share} of the baseline {baseline:g}; limit {rule.percent:g}%)",
                )
            elif above:
                changes.update(alarm[0], alarm[1], consumption)
            elif alarm is not None:
                changes.clear(alarm[0])


def gaps_judge(
    changes: Changes,
    rules: list[AlarmRule],
    pairs_of: dict[int, list[Pair]],
    open_alarms: dict[tuple[int, int], tuple[int, float]],
) -> None:
    """Open, update or clear the gap rules' alarms on their interval series' last completed
    day: the intervals the day should hold (its length, 23 to 25 hours, over the interval)
    against the samples its statistics counted. A series whose newest sample is older than the
    day has stopped, which is the no-data rule's business, not a gap. The rules judging the same
    day (delay, zone) share one query."""
    groups = defaultdict(list)
    for rule in rules:
        for pair in pairs_of.get(rule.pk, ()):
            if pair.series_kind == SeriesKind.INTERVAL and pair.last_ts is not None:
                groups[(rule.delay_minutes, pair.zone)].append((rule, pair))
    for (delay, zone), members in groups.items():
        tz = ZoneInfo(zone)
        day = (changes.now - timedelta(minutes=delay)).astimezone(tz).date() - timedelta(days=1)
        start = datetime_to_ms(_local(day, time(), tz))
        end = datetime_to_ms(_local(day + timedelta(days=1), time(), tz))
        counts = dict(
            DailyStatistics.objects.filter(
                series_id__in=sorted({pair.series_id for _, pair in members}), day=day
            ).values_list("series_id", "count")
        )
        for rule, pair in members:
            if pair.last_ts < start:
                continue
            expected = (end - start) // (max(rule.interval_minutes, 1) * 60_000)
            missing = max(expected - counts.get(pair.series_id, 0), 0)
            alarm = open_alarms.get((rule.pk, pair.series_id))
            if missing and alarm is None:
                changes.open(
                    rule,
                    pair.series_id,
                    missing,
                    f"{missing} of {expected} intervals missing on {day.isoformat()}",
                )
            elif missing:
                changes.update(alarm[0], alarm[1], missing)
            elif alarm is not None:
                changes.clear(alarm[0])


def next_due(*, now: datetime, delay_minutes: int) -> datetime:
    """The next quarter-hour boundary plus the delay: when a period may have completed in some
    zone (offsets are whole quarter-hours) and its late data has had the delay to arrive."""
    delay = timedelta(minutes=delay_minutes)
    shifted = now - delay
    floored = shifted.replace(minute=shifted.minute - shifted.minute % 15, second=0, microsecond=0)
    return floored + QUARTER + delay
