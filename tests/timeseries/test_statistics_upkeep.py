"""The statistics the store keeps: hand-computed cases (docs/energy.md, "Statistics")."""

import pytest
from django.db import connection

from apps.timeseries.models import DailyStatistics, QuarterHourStatistics
from apps.timeseries.services import samples_delete
from tests.factories import OrganizationFactory, SeriesFactory, SiteFactory
from tests.timeseries.helpers import ms, write_samples
from tests.timeseries.statistics_reference import statistics_differences

pytestmark = pytest.mark.django_db

Q = 900_000


def quarters(series) -> list[tuple]:
    rows = QuarterHourStatistics.objects.filter(series=series).order_by("start")
    return [
        (r.start, r.count, r.first_value, r.last_value, r.consumption, r.resets, r.steps_back) for r in rows
    ]


def days(series) -> list[tuple]:
    rows = DailyStatistics.objects.filter(series=series).order_by("start")
    return [(r.day.isoformat(), r.count, r.consumption, r.min, r.max) for r in rows]


def test_a_counter_with_a_reset_and_a_step_back():
    counter = SeriesFactory(kind="counter")
    t0 = ms(2024, 1, 1)
    # 100 -> 110 (+10) -> 109 (step back, -1) -> 120 (+11) | next quarter: 5 (reset: +5) -> 8 (+3)
    write_samples(
        counter,
        [t0, t0 + 60_000, t0 + 120_000, t0 + 180_000, t0 + Q, t0 + Q + 60_000],
        [100, 110, 109, 120, 5, 8],
    )

    assert quarters(counter) == [(t0, 4, 100, 120, 20, 0, 1), (t0 + Q, 2, 5, 8, 8, 1, 0)]
    assert days(counter) == [("2024-01-01", 6, 28, 5, 120)]


def test_a_later_write_changes_the_next_quarter_hours_first_increment():
    counter = SeriesFactory(kind="counter")
    t0 = ms(2024, 1, 1)
    write_samples(counter, [t0, t0 + Q], [100, 130])
    assert quarters(counter)[1][4] == 30

    write_samples(counter, [t0 + 60_000], [110])  # now 100 -> 110 -> 130

    assert [q[4] for q in quarters(counter)] == [10, 20]


def test_interval_samples_labelled_with_their_end_belong_to_the_day_before_midnight():
    site = SiteFactory(time_zone="Europe/Berlin")
    profile = SeriesFactory(kind="interval", interval_end=True, site=site, organization=site.organization)
    midnight = ms(2024, 3, 30, 23)  # 2024-03-31 00:00 in Berlin (CET, +1)
    write_samples(profile, [midnight, midnight + Q], [1.0, 2.0])

    assert days(profile) == [("2024-03-30", 1, 1.0, 1.0, 1.0), ("2024-03-31", 1, 2.0, 2.0, 2.0)]


def test_the_berlin_spring_day_has_92_quarter_hours():
    site = SiteFactory(time_zone="Europe/Berlin")
    profile = SeriesFactory(kind="interval", site=site, organization=site.organization)
    start, end = ms(2024, 3, 30, 23), ms(2024, 3, 31, 22)  # local midnights around the 23-hour day
    write_samples(profile, list(range(start - Q, end + Q, Q)), [1.0] * ((end - start) // Q + 2))

    assert days(profile) == [
        ("2024-03-30", 1, 1.0, 1.0, 1.0),
        ("2024-03-31", 92, 92.0, 1.0, 1.0),
        ("2024-04-01", 1, 1.0, 1.0, 1.0),
    ]


def test_deleting_a_range_removes_its_statistics():
    counter = SeriesFactory(kind="counter")
    t0 = ms(2024, 1, 1)
    write_samples(counter, [t0, t0 + Q, t0 + 2 * Q], [1, 2, 3])

    samples_delete(series_id=counter.pk, start_ms=t0 + Q, end_ms=t0 + 2 * Q)

    assert quarters(counter) == [(t0, 1, 1, 1, 0, 0, 0), (t0 + 2 * Q, 1, 3, 3, 2, 0, 0)]
    assert days(counter) == [("2024-01-01", 2, 2, 1, 3)]


def test_a_measurement_has_no_consumption():
    power = SeriesFactory(organization=OrganizationFactory(time_zone="Asia/Kathmandu"))
    t0 = ms(2024, 1, 1, 18, 15)  # 00:00 in Kathmandu (+5:45)
    write_samples(power, [t0 - 1, t0], [4.0, 6.0])

    assert days(power) == [("2024-01-01", 1, None, 4.0, 4.0), ("2024-01-02", 1, None, 6.0, 6.0)]


def test_new_data_over_statistics_left_behind_by_samples_deleted_by_hand():
    counter = SeriesFactory(kind="counter")
    t0 = ms(2024, 1, 1)
    ts = [t0 + i * 60_000 for i in range(3_000)]  # two days of one-minute data: the bulk path
    write_samples(counter, ts, [float(i) for i in range(3_000)])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [counter.pk])

    write_samples(counter, ts, [float(2 * i) for i in range(3_000)])

    assert statistics_differences(counter.pk, kind="counter", interval_end=False, zone="UTC") == []
