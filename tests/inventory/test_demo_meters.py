"""The demo's energy meters (apps/inventory/demo_meters.py) at their full length: two sites, a
year and a month of quarter-hours with a weekly shape, and an unmetered virtual meter that the
dashboard's energy overview shows with last year's month beside this one."""

from datetime import UTC, date, datetime

import numpy as np
import pytest
import time_machine

from apps.console.energy import energy_overview
from apps.inventory.demo import demo_seed
from apps.tenancy.models import Organization
from apps.timeseries.models import Series, SeriesKind
from apps.timeseries.query import samples_count
from apps.timeseries.selectors import statistics

NOW = datetime(2026, 1, 15, 12, 30, 20, tzinfo=UTC)  # a Thursday

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_org(settings):
    settings.EMS_DEMO_METER_DAYS = 400
    with time_machine.travel(NOW, tick=False):
        demo_seed(slug="demo")
    return Organization.objects.get(slug="demo")


def test_demo_meters_hold_a_year_and_a_month_of_quarter_hours_at_two_sites(demo_org):
    meters = Series.objects.filter(organization=demo_org, meter_code__endswith="_15min").exclude(
        meter_code="main_energy_15min"
    )
    assert sorted((m.meter_code, m.unit, m.kind, m.site.name) for m in meters) == [
        ("building_hvac_15min", "kWh", "interval", "Demo building"),
        ("building_lighting_15min", "kWh", "interval", "Demo building"),
        ("building_main_15min", "kWh", "interval", "Demo building"),
        ("building_water_15min", "m³", "interval", "Demo building"),
        ("warehouse_cold_15min", "kWh", "interval", "Warehouse"),
        ("warehouse_main_15min", "kWh", "interval", "Warehouse"),
    ]
    for meter in meters:
        # From midnight UTC 400 days back (2024-12-11) to 12:30 today: 400 days and 50 quarters.
        assert samples_count(series_id=meter.pk, start_ms=0, end_ms=2**62) == 400 * 96 + 50, meter.name


def test_demo_building_uses_more_on_weekdays_and_its_unmetered_share_is_positive(demo_org):
    main = Series.objects.get(organization=demo_org, meter_code="building_main_15min")
    unmetered = Series.objects.get(organization=demo_org, meter_code="building_unmetered")
    assert unmetered.kind == SeriesKind.VIRTUAL
    assert sorted(unmetered.virtual_sources.values_list("source__meter_code", "coefficient")) == [
        ("building_hvac_15min", -1.0),
        ("building_lighting_15min", -1.0),
        ("building_main_15min", 1.0),
    ]
    days = statistics(main, date(2025, 12, 1), date(2026, 1, 1), "day")
    weekdays = np.mean([d.total for d in days if d.start.weekday() < 5])
    sundays = np.mean([d.total for d in days if d.start.weekday() == 6])
    assert weekdays > 1.5 * sundays > 0
    unmetered_days = statistics(unmetered, date(2025, 12, 1), date(2026, 1, 1), "day")
    assert all(d.total > 0 for d in unmetered_days)


def test_dashboard_compares_the_demo_month_with_last_years(demo_org):
    [energy] = energy_overview(organizations=[demo_org], now=NOW)

    assert [site.name for site in energy.sites] == ["Demo building", "Warehouse"]
    for site in energy.sites:
        kwh = next(unit for unit in site.units if unit.unit == "kWh")
        month = kwh.periods["month"]
        assert month.current > 0 and month.previous > 0 and month.last_year > 0, site.name
        assert kwh.intensity["month"] == pytest.approx(month.current / site.floor_area)
    top = [consumer.series.meter_code for consumer in energy.top["kWh"]]
    assert "building_unmetered" in top
