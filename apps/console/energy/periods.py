"""The overview's periods in a local calendar: today, this week, this month and this year, each
beside the previous period and the same period last year, compared over equal lengths."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apps.core.time import datetime_to_ms

PERIODS = ("today", "week", "month", "year")
PERIOD_LABELS = {"today": "Today", "week": "This week", "month": "This month", "year": "This year"}
COMPARISONS = ("current", "previous", "last_year")


def _year_back(day: date) -> date:
    """The same date a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def period_ranges(today: date) -> dict[tuple[str, str], tuple[date, date]]:
    """(period, comparison) -> [first day, end day) for a calendar whose local date is `today`."""
    tomorrow = today + timedelta(days=1)
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    previous_month_end = min(previous_month + (tomorrow - month), month)
    year = today.replace(month=1, day=1)
    last_year = (year.replace(year=year.year - 1), _year_back(today) + timedelta(days=1))
    weeks_52 = timedelta(weeks=52)
    return {
        ("today", "current"): (today, tomorrow),
        ("today", "previous"): (today - timedelta(days=1), today),
        ("today", "last_year"): (_year_back(today), _year_back(today) + timedelta(days=1)),
        ("week", "current"): (week, tomorrow),
        ("week", "previous"): (week - timedelta(weeks=1), tomorrow - timedelta(weeks=1)),
        ("week", "last_year"): (week - weeks_52, tomorrow - weeks_52),
        ("month", "current"): (month, tomorrow),
        ("month", "previous"): (previous_month, previous_month_end),
        ("month", "last_year"): (_year_back(month), _year_back(today) + timedelta(days=1)),
        ("year", "current"): (year, tomorrow),
        ("year", "previous"): last_year,
        ("year", "last_year"): last_year,
    }


def utc_midnight_ms(day: date) -> int:
    return datetime_to_ms(datetime.combine(day, time(), tzinfo=UTC))


def cut_comparisons(today: date) -> set[tuple[str, str]]:
    """The comparisons whose last day counts only until the time of day it is now, as today does:
    all but the previous month when it is shorter than this month so far (then it counts whole)."""
    keys = {(period, comparison) for period in PERIODS for comparison in ("previous", "last_year")}
    if today.day > (today.replace(day=1) - timedelta(days=1)).day:
        keys.discard(("month", "previous"))
    return keys


def local_ms(day: date, at: time, zone: str) -> int:
    return datetime_to_ms(datetime.combine(day, at, tzinfo=ZoneInfo(zone)))
