"""A series' figures per local day of a month and per local month of a year, from its
statistics (apps/timeseries/calendar_totals.py); the series page that shows them is tested in
test_charts.py."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.timeseries.calendar_totals import calendar_totals
from apps.timeseries.stats.rebuild import statistics_rebuild
from tests.timeseries.helpers import write_samples

pytestmark = pytest.mark.django_db

HOUR = 3_600_000
DAY = 86_400_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def test_a_counters_resets_and_steps_back_are_shown_per_day(series):
    series.kind = "counter"
    series.save()
    write_samples(series, [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + DAY], [100.0, 5.0, 4.5, 7.0])

    totals = calendar_totals(series=series, month=date(2025, 1, 1), year=2025)

    assert [(d.count, d.total, d.resets, d.steps_back) for d in totals.days[:3]] == [
        (3, 4.5, 1, 1),  # 100 -> 5 is a reset (+5), 5 -> 4.5 a step back (-0.5)
        (1, 2.5, 0, 0),
        (0, None, None, None),
    ]


# Daily and monthly totals across daylight-saving changes


def local_ms(tz: str, *args) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


@pytest.fixture
def zurich_counter(series):
    """An hourly energy counter in Europe/Zurich that counts one per hour, from 2025-02-28 local
    midnight to 2025-11-02 local midnight (spring forward on 30 March, fall back on 26 October)."""
    series.organization.time_zone = "Europe/Zurich"
    series.organization.save()
    start = local_ms("Europe/Zurich", 2025, 2, 28)
    end = local_ms("Europe/Zurich", 2025, 11, 2)
    ts = list(range(start, end, HOUR))
    write_samples(series, ts, [float(i) for i in range(len(ts))])
    return series


def test_daily_totals_have_23_and_25_hour_days_across_dst_in_zurich(zurich_counter):
    zurich_counter.kind = "counter"
    zurich_counter.save()
    statistics_rebuild([zurich_counter.pk])  # its kind changed after the samples were written

    spring = calendar_totals(series=zurich_counter, month=date(2025, 3, 1), year=2025)
    autumn = calendar_totals(series=zurich_counter, month=date(2025, 10, 1), year=2025)

    assert [(d.label[:10], d.hours, d.count, d.total) for d in spring.days[28:31]] == [
        ("2025-03-29", 24, 24, 24.0),
        ("2025-03-30", 23, 23, 23.0),
        ("2025-03-31", 24, 24, 24.0),
    ]
    assert [(d.label[:10], d.hours, d.count, d.total) for d in autumn.days[24:27]] == [
        ("2025-10-25", 24, 24, 24.0),
        ("2025-10-26", 25, 25, 25.0),
        ("2025-10-27", 24, 24, 24.0),
    ]
    sunday = spring.days[29]
    assert sunday.start == datetime(2025, 3, 30, tzinfo=ZoneInfo("Europe/Zurich"))
    assert sunday.max - sunday.min == 22
    figures = {m.label: (m.hours, m.count, m.total) for m in spring.months}
    # February holds only its last day, whose first reading counts nothing (nothing before it).
    assert figures["2025-02"] == (672, 24, 23.0)
    assert figures["2025-03"] == (743, 743, 743.0)
    assert figures["2025-10"] == (745, 745, 745.0)
    assert figures["2025-11"] == (720, 24, 24.0)
    assert figures["2025-12"] == (744, 0, None)


def test_calendar_totals_are_read_from_the_statistics_not_the_samples(zurich_counter):
    with CaptureQueriesContext(connection) as queries:
        calendar_totals(series=zurich_counter, month=date(2025, 3, 1), year=2025)

    assert not any("timeseries_sample" in q["sql"] for q in queries.captured_queries)
    assert sum("timeseries_stats_day" in q["sql"] for q in queries.captured_queries) == 2
