"""Reading the statistics per local bucket (`selectors.statistics`): hand-computed cases
(docs/energy.md, "Reading the statistics")."""

from datetime import date, timedelta

import pytest

from apps.core.exceptions import Invalid
from apps.timeseries.models import VirtualSource
from apps.timeseries.selectors import StatisticsRangeError, statistics, statistics_read
from tests.factories import OrganizationFactory, SeriesFactory, SiteFactory
from tests.timeseries.helpers import ms, sample_count, write_samples

pytestmark = pytest.mark.django_db

Q = 900_000
H = 3_600_000


def rows(buckets) -> list[tuple]:
    """(local start, count, total, mean, min, max) of each bucket."""
    return [(b.start.isoformat(), b.count, b.total, b.mean, b.min, b.max) for b in buckets]


def totals(buckets) -> list:
    return [b.total for b in buckets]


def test_a_counter_with_a_reset_and_a_replacement_per_day_and_month():
    counter = SeriesFactory(kind="counter")
    d1, d2, d3 = ms(2024, 1, 1), ms(2024, 1, 2), ms(2024, 1, 3)
    write_samples(
        counter,
        [d1, d1 + 6 * H, d1 + 12 * H, d2, d2 + 6 * H, d2 + 12 * H, d2 + 18 * H, d3, d3 + 12 * H, d3 + 18 * H],
        # day 1: first sample, +10, +10; day 2: +10, reset to 4 (+4), +5, a step back (-0.5);
        # day 3: +11.5, +10, the meter replaced by one reading 3 (+3)
        [100, 110, 120, 130, 4, 9, 8.5, 20, 30, 3],
    )

    days = statistics(counter, date(2024, 1, 1), date(2024, 1, 5), "day")

    assert rows(days) == [
        ("2024-01-01T00:00:00+00:00", 3, 20.0, 110.0, 100.0, 120.0),
        ("2024-01-02T00:00:00+00:00", 4, 18.5, 37.875, 4.0, 130.0),
        ("2024-01-03T00:00:00+00:00", 3, 24.5, 53 / 3, 3.0, 30.0),
        ("2024-01-04T00:00:00+00:00", 0, None, None, None, None),
    ]
    (january,) = statistics(counter, date(2024, 1, 1), date(2024, 2, 1), "month")
    assert rows([january]) == [("2024-01-01T00:00:00+00:00", 10, 63.0, 53.45, 3.0, 130.0)]
    hours = statistics(counter, date(2024, 1, 2), date(2024, 1, 3), "hour")
    assert len(hours) == 24
    assert [(i, b.count, b.total) for i, b in enumerate(hours) if b.count] == [
        (0, 1, 10.0),
        (6, 1, 4.0),
        (12, 1, 5.0),
        (18, 1, -0.5),
    ]


def test_the_first_bucket_counts_the_increment_from_the_sample_before_the_range():
    counter = SeriesFactory(kind="counter")
    write_samples(counter, [ms(2024, 1, 1, 23), ms(2024, 1, 2, 1)], [100, 107])

    assert totals(statistics(counter, date(2024, 1, 2), date(2024, 1, 3), "day")) == [7.0]


def test_96_quarter_hours_of_one_kwh_read_96_with_start_labels():
    profile = SeriesFactory(kind="interval", unit="kWh")
    day = ms(2024, 5, 1)
    write_samples(profile, range(day, day + 96 * Q, Q), [1.0] * 96)

    days = statistics(profile, date(2024, 4, 30), date(2024, 5, 3), "day")
    hours = statistics(profile, date(2024, 5, 1), date(2024, 5, 2), "hour")

    assert [(b.count, b.total) for b in days] == [(0, None), (96, 96.0), (0, None)]
    assert {(b.count, b.total, b.mean, b.min, b.max) for b in hours} == {(4, 4.0, 1.0, 1.0, 1.0)}
    assert len(hours) == 24


def test_interval_samples_labelled_with_their_end_count_for_the_interval_before():
    profile = SeriesFactory(kind="interval", interval_end=True)
    day = ms(2024, 5, 1)
    write_samples(profile, range(day + Q, day + 97 * Q, Q), [1.0] * 96)  # 00:15 ... 24:00

    days = statistics(profile, date(2024, 5, 1), date(2024, 5, 3), "day")
    quarters = statistics(profile, date(2024, 5, 1), date(2024, 5, 2), "quarter_hour")

    assert [(b.count, b.total) for b in days] == [(96, 96.0), (0, None)]
    assert len(quarters) == 96
    assert quarters[0].start.isoformat() == "2024-05-01T00:00:00+00:00"
    assert {b.total for b in quarters} == {1.0}


# (zone, local day, its hours, (index of an hour bucket, its local start))
DAYS_OF_ZONES = [
    ("Europe/Berlin", date(2024, 3, 31), 23, (2, "2024-03-31T03:00:00+02:00")),
    ("Europe/Berlin", date(2024, 10, 27), 25, (3, "2024-10-27T02:00:00+01:00")),
    ("Asia/Kolkata", date(2024, 1, 1), 24, (0, "2024-01-01T00:00:00+05:30")),
    ("Asia/Kathmandu", date(2024, 1, 1), 24, (1, "2024-01-01T01:00:00+05:45")),
    ("Australia/Sydney", date(2024, 4, 7), 25, (3, "2024-04-07T02:00:00+10:00")),
    ("Australia/Sydney", date(2024, 10, 6), 23, (2, "2024-10-06T03:00:00+11:00")),
    ("America/St_Johns", date(2024, 3, 10), 23, (2, "2024-03-10T03:00:00-02:30")),
    ("America/St_Johns", date(2024, 11, 3), 25, (2, "2024-11-03T01:00:00-03:30")),
]


@pytest.mark.parametrize(("zone", "day", "hours", "hour_start"), DAYS_OF_ZONES)
def test_local_days_and_hours_of_every_kind_of_zone(zone, day, hours, hour_start):
    site = SiteFactory(time_zone=zone)
    profile = SeriesFactory(kind="interval", site=site, organization=site.organization)
    # One 1.0 every quarter-hour from an hour before the local day to an hour after it (its
    # local midnights read from the buckets' starts).
    days_around = statistics(profile, day - timedelta(days=1), day + timedelta(days=2), "day")
    first, last = days_around[1].start, days_around[2].start
    start_ms, end_ms = int(first.timestamp() * 1000) - H, int(last.timestamp() * 1000) + H
    write_samples(profile, range(start_ms, end_ms, Q), [1.0] * ((end_ms - start_ms) // Q))

    days = statistics(profile, day - timedelta(days=1), day + timedelta(days=2), "day")
    hourly = statistics(profile, day, day + timedelta(days=1), "hour")

    assert [(b.count, b.total) for b in days] == [(4, 4.0), (hours * 4, hours * 4.0), (4, 4.0)]
    assert days[1].start.isoformat() == f"{day.isoformat()}T00:00:00{days[1].start.isoformat()[19:]}"
    assert len(hourly) == hours
    assert {(b.count, b.total) for b in hourly} == {(4, 4.0)}
    index, local_start = hour_start
    assert hourly[index].start.isoformat() == local_start


def test_a_sample_a_minute_before_local_midnight_in_kolkata_belongs_to_the_day_before():
    power = SeriesFactory(organization=OrganizationFactory(time_zone="Asia/Kolkata"))
    midnight = ms(2024, 1, 1, 18, 30)  # 2024-01-02 00:00 +05:30
    write_samples(
        power, [midnight - 60_000, midnight, midnight + H - 60_000, midnight + H], [1.0, 3.0, 5.0, 7.0]
    )

    days = statistics(power, date(2024, 1, 1), date(2024, 1, 3), "day")
    hours = statistics(power, date(2024, 1, 2), date(2024, 1, 3), "hour")

    assert rows(days) == [
        ("2024-01-01T00:00:00+05:30", 1, None, 1.0, 1.0, 1.0),
        ("2024-01-02T00:00:00+05:30", 3, None, 5.0, 3.0, 7.0),
    ]
    assert rows(hours[:2]) == [
        ("2024-01-02T00:00:00+05:30", 2, None, 4.0, 3.0, 5.0),
        ("2024-01-02T01:00:00+05:30", 1, None, 7.0, 7.0, 7.0),
    ]


def test_weeks_start_on_monday_and_months_and_years_are_local():
    site = SiteFactory(time_zone="Europe/Berlin")
    power = SeriesFactory(site=site, organization=site.organization)
    # Sunday 7 January 12:00, Monday 8 January 00:30 local (23:30 UTC on Sunday), 29 February
    write_samples(power, [ms(2024, 1, 7, 11), ms(2024, 1, 7, 23, 30), ms(2024, 2, 29, 12)], [2.0, 4.0, 6.0])

    weeks = statistics(power, date(2024, 1, 3), date(2024, 1, 10), "week")
    months = statistics(power, date(2024, 1, 15), date(2024, 3, 1), "month")
    years = statistics(power, date(2024, 6, 1), date(2024, 6, 2), "year")

    assert rows(weeks) == [
        ("2024-01-01T00:00:00+01:00", 1, None, 2.0, 2.0, 2.0),
        ("2024-01-08T00:00:00+01:00", 1, None, 4.0, 4.0, 4.0),
    ]
    assert rows(months) == [
        ("2024-01-01T00:00:00+01:00", 2, None, 3.0, 2.0, 4.0),
        ("2024-02-01T00:00:00+01:00", 1, None, 6.0, 6.0, 6.0),
    ]
    assert rows(years) == [("2024-01-01T00:00:00+01:00", 3, None, 4.0, 2.0, 6.0)]


def test_a_year_imported_in_the_past_reads_back_in_full():
    profile = SeriesFactory(kind="interval", unit="kWh")
    start = ms(2023, 1, 1)
    write_samples(profile, range(start, start + 8_760 * H, H), [1.0] * 8_760)  # one import, a year ago

    months = statistics(profile, date(2023, 1, 1), date(2024, 1, 1), "month")
    days = statistics(profile, date(2023, 1, 1), date(2024, 1, 1), "day")
    (year,) = statistics(profile, date(2023, 1, 1), date(2024, 1, 1), "year")

    assert totals(months) == [24.0 * n for n in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)]
    assert len(days) == 365
    assert {(b.count, b.total) for b in days} == {(24, 24.0)}
    assert (year.count, year.total) == (8_760, 8_760.0)


def _virtual(organization, terms, **fields):
    meter = SeriesFactory(organization=organization, kind="virtual", **fields)
    VirtualSource.objects.bulk_create(
        [VirtualSource(virtual=meter, source=source, coefficient=c) for source, c in terms]
    )
    return meter


def test_a_virtual_meter_main_minus_two_sub_meters():
    org = OrganizationFactory()
    main, sub_b, sub_c = (SeriesFactory(organization=org, kind="counter", unit="kWh") for _ in range(3))
    d1, d2, d3 = ms(2024, 1, 1), ms(2024, 1, 2), ms(2024, 1, 3)
    write_samples(main, [d1, d2, d3], [1000, 1100, 1250])
    write_samples(sub_b, [d1, d2, d3], [200, 230, 250])
    write_samples(sub_c, [d1, d2], [50, 60])  # nothing from C on the 3rd
    unmetered = _virtual(org, [(main, 1), (sub_b, -1), (sub_c, -1)], unit="kWh")

    days = statistics(unmetered, date(2024, 1, 1), date(2024, 1, 5), "day")

    assert rows(days) == [
        ("2024-01-01T00:00:00+00:00", 3, 0.0, 750.0, None, None),
        ("2024-01-02T00:00:00+00:00", 3, 60.0, 810.0, None, None),
        # C without samples consumed nothing; its register's mean is unknown
        ("2024-01-03T00:00:00+00:00", 2, 130.0, None, None, None),
        ("2024-01-04T00:00:00+00:00", 0, None, None, None, None),
    ]
    (january,) = statistics(unmetered, date(2024, 1, 1), date(2024, 2, 1), "month")
    assert (january.count, january.total) == (8, 190.0)


def test_a_virtual_meter_of_virtual_meters_multiplies_the_coefficients():
    org = OrganizationFactory()
    a, b = (SeriesFactory(organization=org, kind="interval") for _ in range(2))
    write_samples(a, [ms(2024, 1, 1)], [10.0])
    write_samples(b, [ms(2024, 1, 1)], [3.0])
    difference = _virtual(org, [(a, 1), (b, -1)])
    doubled_plus_b = _virtual(org, [(difference, 2), (b, 1)])  # 2a - b

    (day,) = statistics(doubled_plus_b, date(2024, 1, 1), date(2024, 1, 2), "day")

    assert (day.count, day.total, day.mean) == (2, 17.0, 17.0)


def test_a_virtual_measurement_adds_means_and_has_no_extremes():
    org = OrganizationFactory()
    hall_a, hall_b = (SeriesFactory(organization=org, unit="kW") for _ in range(2))
    write_samples(hall_a, [ms(2024, 1, 1, 0), ms(2024, 1, 1, 1)], [2.0, 4.0])
    write_samples(hall_b, [ms(2024, 1, 1, 0)], [5.0])
    building = _virtual(org, [(hall_a, 1), (hall_b, 1)])

    (day,) = statistics(building, date(2024, 1, 1), date(2024, 1, 2), "day")

    assert rows([day]) == [("2024-01-01T00:00:00+00:00", 3, None, 8.0, None, None)]


def test_a_virtual_meter_reads_its_sources_in_its_own_calendar():
    org = OrganizationFactory(time_zone="UTC")
    berlin = SiteFactory(organization=org, time_zone="Europe/Berlin")
    profile = SeriesFactory(organization=org, kind="interval")
    write_samples(profile, range(ms(2024, 1, 1), ms(2024, 1, 2), Q), [1.0] * 96)
    mirror = _virtual(org, [(profile, 1)], site=berlin)

    days = statistics(mirror, date(2024, 1, 1), date(2024, 1, 3), "day")

    assert [(b.start.isoformat(), b.total) for b in days] == [
        ("2024-01-01T00:00:00+01:00", 92.0),  # 23:00 UTC ends the Berlin day
        ("2024-01-02T00:00:00+01:00", 4.0),
    ]
    assert totals(statistics(profile, date(2024, 1, 1), date(2024, 1, 3), "day")) == [96.0, None]


def test_a_virtual_meter_without_sources_reads_empty_buckets():
    meter = SeriesFactory(kind="virtual")

    assert rows(statistics(meter, date(2024, 1, 1), date(2024, 1, 2), "day")) == [
        ("2024-01-01T00:00:00+00:00", 0, None, None, None, None)
    ]


def test_several_series_of_several_zones_in_one_read():
    utc = SeriesFactory(kind="interval")
    site = SiteFactory(time_zone="Asia/Kathmandu")
    kathmandu = SeriesFactory(kind="interval", site=site, organization=site.organization)
    for one in (utc, kathmandu):
        write_samples(one, [ms(2024, 1, 1, 12)], [5.0])

    read = statistics_read([utc, kathmandu], start=date(2024, 1, 1), end=date(2024, 1, 2), bucket="day")

    assert rows(read[utc.pk].buckets) == [("2024-01-01T00:00:00+00:00", 1, 5.0, 5.0, 5.0, 5.0)]
    assert rows(read[kathmandu.pk].buckets) == [("2024-01-01T00:00:00+05:45", 1, 5.0, 5.0, 5.0, 5.0)]


def test_a_range_must_hold_buckets_and_not_too_many():
    power = SeriesFactory()

    with pytest.raises(StatisticsRangeError):
        statistics(power, date(2024, 1, 2), date(2024, 1, 2), "day")
    with pytest.raises(StatisticsRangeError):
        statistics(power, date(2024, 1, 1), date(2024, 4, 16), "quarter_hour", max_buckets=10_000)
    most = statistics(power, date(2024, 1, 1), date(2024, 4, 14), "quarter_hour", max_buckets=10_000)
    assert len(most) == 9_984
    with pytest.raises(ValueError):
        statistics(power, date(2024, 1, 1), date(2024, 1, 2), "fortnight")


def test_the_store_refuses_samples_for_a_virtual_series():
    meter = SeriesFactory(kind="virtual")

    with pytest.raises(Invalid, match="virtual"):
        write_samples(meter, [ms(2024, 1, 1)], [1.0])

    assert sample_count() == 0
