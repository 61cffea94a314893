"""The dashboard's energy overview (apps/console/energy.py): figures computed by hand from a few
samples, local calendars, periods of equal length, virtual meters listed but not added, another
organization never counted, and four queries whatever the number of series."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.console.energy import cut_comparisons, energy_overview, period_ranges
from apps.timeseries.models import Series, SeriesKind, VirtualSource
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, SiteFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 11, 16, 0, tzinfo=UTC)  # a Wednesday, 18:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def local_noon(day: date) -> int:
    return ms(datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN))


def store(series, samples: dict[int, float]) -> None:
    ts = sorted(samples)
    write(SampleBatch([series.pk] * len(ts), ts, [samples[t] for t in ts]), Policy.OVERWRITE)


# The hall's consumption by local (Berlin) day; its figures below are sums of these by hand.
HALL_DAYS = {
    date(2025, 6, 11): 5,
    date(2025, 6, 10): 3,
    date(2025, 6, 9): 2,
    date(2025, 6, 4): 1,
    date(2025, 6, 3): 1,
    date(2025, 6, 2): 1,
    date(2025, 6, 1): 7,
    date(2025, 5, 20): 100,  # last month, after the same days as this month's so far
    date(2025, 5, 5): 8,
    date(2025, 2, 1): 2,
    date(2024, 12, 1): 1000,  # last year, after the same days as this year's so far
    date(2024, 6, 12): 9,  # the week 52 weeks back, but after this day of last year's month
    date(2024, 6, 11): 6,
    date(2024, 6, 10): 4,
    date(2024, 3, 1): 50,
}


@pytest.fixture
def place(org, other_org):
    site = SiteFactory(organization=org, name="Plant", time_zone="Europe/Berlin", floor_area=100.0)
    hall = SeriesFactory(organization=org, site=site, name="Hall", unit="kWh", kind=SeriesKind.INTERVAL)
    samples = {local_noon(day): value for day, value in HALL_DAYS.items()}
    # 23:30 UTC on the 10th is 01:30 on the 11th in Berlin: today in the site's calendar.
    samples[ms(datetime(2025, 6, 10, 23, 30, tzinfo=UTC))] = 1
    # 20:00 on this day last year: later in the day than now, so outside every comparison whose
    # last day it is (today, this month, this year last year); inside last year's week.
    samples[ms(datetime(2024, 6, 11, 20, tzinfo=BERLIN))] = 50
    store(hall, samples)
    sub = SeriesFactory(organization=org, site=site, name="Sub", unit="kWh", kind=SeriesKind.INTERVAL)
    store(sub, {local_noon(date(2025, 6, 11)): 1})
    both = SeriesFactory(
        organization=org, site=site, name="Hall and sub", unit="kWh", kind=SeriesKind.VIRTUAL
    )
    VirtualSource.objects.create(virtual=both, source=hall, coefficient=1)
    VirtualSource.objects.create(virtual=both, source=sub, coefficient=1)
    # A gas counter without a site (the organization's calendar, UTC): 95 -> 100 -> 110 today.
    gas = SeriesFactory(organization=org, name="Gas", unit="m³", kind=SeriesKind.COUNTER)
    store(
        gas,
        {
            ms(datetime(2025, 6, 10, 12, tzinfo=UTC)): 95,
            ms(datetime(2025, 6, 11, 0, 30, tzinfo=UTC)): 100,
            ms(datetime(2025, 6, 11, 9, tzinfo=UTC)): 110,
        },
    )
    # A power measurement is no consumption; another organization's meter is never counted.
    power = SeriesFactory(organization=org, site=site, name="Power", unit="kW")
    store(power, {local_noon(date(2025, 6, 11)): 500})
    foreign = SeriesFactory(organization=other_org, name="Foreign", unit="kWh", kind=SeriesKind.INTERVAL)
    store(foreign, {local_noon(date(2025, 6, 11)): 10_000})
    return site


def figures(unit_figures):
    return {p: (f.current, f.previous, f.last_year) for p, f in unit_figures.periods.items()}


def test_periods_compare_the_same_days_of_the_previous_period_and_of_last_year():
    ranges = period_ranges(date(2025, 3, 31))  # a Monday, the last of a month longer than February
    assert ranges["today", "previous"] == (date(2025, 3, 30), date(2025, 3, 31))
    assert ranges["today", "last_year"] == (date(2024, 3, 31), date(2024, 4, 1))
    assert ranges["week", "current"] == (date(2025, 3, 31), date(2025, 4, 1))
    assert ranges["week", "previous"] == (date(2025, 3, 24), date(2025, 3, 25))
    assert ranges["week", "last_year"] == (date(2024, 4, 1), date(2024, 4, 2))  # a Monday too
    assert ranges["month", "current"] == (date(2025, 3, 1), date(2025, 4, 1))
    assert ranges["month", "previous"] == (date(2025, 2, 1), date(2025, 3, 1))  # all February
    assert ranges["month", "last_year"] == (date(2024, 3, 1), date(2024, 4, 1))
    assert ranges["year", "previous"] == ranges["year", "last_year"] == (date(2024, 1, 1), date(2024, 4, 1))
    assert period_ranges(date(2024, 2, 29))["today", "last_year"] == (date(2023, 2, 28), date(2023, 3, 1))
    # Each comparison's last day counts until now's time of day, but a whole shorter month.
    assert ("month", "previous") not in cut_comparisons(date(2025, 3, 31))
    assert ("month", "previous") in cut_comparisons(date(2025, 3, 28))
    assert len(cut_comparisons(date(2025, 3, 28))) == 8


def test_overview_sums_each_units_consumption_per_period_in_local_calendars(org, place):
    [energy] = energy_overview(organizations=[org], now=NOW)

    assert energy.organization == org
    kwh, gas = energy.total.units
    assert (kwh.unit, gas.unit) == ("kWh", "m³")  # the measurement (kW) is no consumption
    assert figures(kwh) == {
        "today": (7, 3, 6),  # hall 5 + 1 (Berlin's 01:30) + sub 1; yesterday 3; 2024-06-11: 6
        "week": (12, 3, 69),  # Mon 9th to today; the 2nd to the 4th; 2024-06-10 to 12 (18:00)
        "month": (22, 8, 10),  # 1st to 11th; 1st to 11th of May (not the 20th); 2024-06-01 to 11
        "year": (132, 60, 60),  # to 11 June; 2024 to 11 June (not December)
    }
    assert figures(gas) == {
        "today": (15, 0, None),  # yesterday's first reading counts nothing, but was read
        "week": (15, None, None),
        "month": (15, None, None),
        "year": (15, None, None),
    }
    assert kwh.intensity == {}  # only a site has a floor area

    [site] = energy.sites
    assert (site.name, site.zone, site.floor_area) == ("Plant", "Europe/Berlin", 100.0)
    [site_kwh] = site.units  # the gas counter has no site
    assert figures(site_kwh) == figures(kwh)
    assert site_kwh.intensity == {"today": 0.07, "week": 0.12, "month": 0.22, "year": 1.32}

    today = kwh.periods["today"]
    assert (round(today.against_previous.percent, 2), today.against_previous.arrow) == (133.33, "↑")
    assert (round(today.against_last_year.percent, 2), today.against_last_year.arrow) == (16.67, "↑")
    assert gas.periods["today"].against_previous.percent is None  # no percentage of 0


def test_top_consumers_list_virtual_meters_without_adding_them(org, place):
    [energy] = energy_overview(organizations=[org], now=NOW)

    assert {
        unit: [(c.series.name, c.month, c.last_year) for c in top] for unit, top in energy.top.items()
    } == {
        "kWh": [("Hall and sub", 22, 10), ("Hall", 21, 10), ("Sub", 1, None)],
        "m³": [("Gas", 15, None)],
    }
    assert energy.total.units[0].periods["month"].current == 22  # hall + sub, not their sum again


def test_a_meter_a_virtual_meter_subtracts_is_listed_but_not_added(org, place):
    hall, sub = (Series.objects.get(organization=org, name=name) for name in ("Hall", "Sub"))
    unmetered = SeriesFactory(
        organization=org, site=place, name="Unmetered", unit="kWh", kind=SeriesKind.VIRTUAL
    )
    VirtualSource.objects.create(virtual=unmetered, source=hall, coefficient=1)
    VirtualSource.objects.create(virtual=unmetered, source=sub, coefficient=-1)

    [energy] = energy_overview(organizations=[org], now=NOW)

    # The sub-meter is part of the hall: the totals are the hall's alone.
    assert (
        figures(energy.total.units[0])["month"] == figures(energy.sites[0].units[0])["month"] == (21, 8, 10)
    )
    assert [(c.series.name, c.month) for c in energy.top["kWh"]] == [
        ("Hall and sub", 22),
        ("Hall", 21),
        ("Unmetered", 20),
        ("Sub", 1),
    ]


def test_another_organizations_series_are_never_counted(org, other_org, place):
    energies = energy_overview(organizations=[org, other_org], now=NOW)

    assert [e.organization for e in energies] == [org, other_org]
    assert energies[0].total.units[0].periods["today"].current == 7
    [foreign_kwh] = energies[1].total.units
    assert foreign_kwh.periods["today"].current == 10_000
    assert [c.series.name for c in energies[1].top["kWh"]] == ["Foreign"]
    assert energy_overview(organizations=[org], now=NOW)[0].total.units[0].periods["today"].current == 7


def test_overview_runs_four_queries_whatever_the_number_of_series(org, place, django_assert_num_queries):
    with django_assert_num_queries(4):
        energy_overview(organizations=[org], now=NOW)

    for n in range(20):
        series = SeriesFactory(organization=org, name=f"Meter {n}", unit="kWh", kind=SeriesKind.INTERVAL)
        store(series, {local_noon(date(2025, 6, 11)): 1})
    tokyo = SiteFactory(organization=org, name="Tokyo", time_zone="Asia/Tokyo")
    SeriesFactory(organization=org, site=tokyo, name="Tokyo meter", unit="kWh", kind=SeriesKind.COUNTER)

    with django_assert_num_queries(4):
        [energy] = energy_overview(organizations=[org], now=NOW)
    assert energy.total.units[0].periods["today"].current == 27
    assert len(energy.top["kWh"]) == 10


def test_admin_index_shows_a_facility_manager_their_energy_not_another_organizations(manager_client, place):
    with time_machine.travel(NOW, tick=False):
        response = manager_client.get("/admin/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-place="Plant" data-unit="kWh"' in page
    assert 'data-period="today"><span class="ems-energy-value">7.0</span>' in page
    assert "prev. ↑&nbsp;133&nbsp;%" in page
    assert ">0.22 / 1.32<" in page  # kWh/m² this month / this year
    assert "Top consumers this month" in page
    assert "Foreign" not in page and "10,000" not in page
