"""The demo's energy meters: what the console's energy overview shows (issue #15 item 7).

Two sites in two time zones, and per site a few 15-minute interval meters over the days before
the seed (settings.EMS_DEMO_METER_DAYS, 400 by default: a year and a month, so today, this week
and this month have the same days of last year to compare with; this year's comparison with last
year is partial, since two years of six meters would take the seed past 10 s on SQLite, whose
statistics upkeep is SQL), with a daily and weekly shape (office hours on weekdays, a short
Saturday, a quiet Sunday and night) and a seasonal one (heating in winter, cooling in summer, a
cold store working harder in summer), plus a virtual "unmetered" meter: the building's main
meter minus its sub-meters.

Values are computed with numpy from the time alone (a seeded generator per meter for the noise),
so re-runs write the same samples over the same quarter-hours; each meter is one store write.
"""

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings

from apps.core.time import datetime_to_ms
from apps.tenancy.models import Organization, Site
from apps.timeseries.models import Series, SeriesKind, VirtualSource
from apps.timeseries.store import Policy, SampleBatch, write

QUARTER_HOUR_MS = 15 * 60_000
DAY_MS = 24 * 60 * 60_000
WAREHOUSE_NAME = "Warehouse"
WAREHOUSE_TIME_ZONE = "Europe/Lisbon"
WAREHOUSE_FLOOR_AREA_M2 = 4500.0
WAREHOUSE_ADDRESS = "Rua do Exemplo 10, 4000-000 Porto, Portugal"
UNMETERED_NAME = "Building unmetered"
UNMETERED_METER_CODE = "building_unmetered"


@dataclass(frozen=True)
class Meter:
    meter_code: str
    name: str
    unit: str
    site: str  # "building" or "warehouse"


METERS = (
    Meter("building_main_15min", "Building main meter", "kWh", "building"),
    Meter("building_hvac_15min", "Building HVAC", "kWh", "building"),
    Meter("building_lighting_15min", "Building lighting", "kWh", "building"),
    Meter("building_water_15min", "Building water", "m³", "building"),
    Meter("warehouse_main_15min", "Warehouse main meter", "kWh", "warehouse"),
    Meter("warehouse_cold_15min", "Warehouse cold store", "kWh", "warehouse"),
)
# The unmetered consumption: the main meter minus its sub-meters.
UNMETERED_TERMS = (
    ("building_main_15min", 1.0),
    ("building_hvac_15min", -1.0),
    ("building_lighting_15min", -1.0),
)


def demo_warehouse(organization: Organization) -> Site:
    """The demo's second site, brought back to its demo state (found by name)."""
    site, _ = Site.objects.update_or_create(
        organization=organization,
        name=WAREHOUSE_NAME,
        defaults={
            "time_zone": WAREHOUSE_TIME_ZONE,
            "floor_area": WAREHOUSE_FLOOR_AREA_M2,
            "address": WAREHOUSE_ADDRESS,
        },
    )
    return site


def _local_clock(starts: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local hour of day (float), weekday (Monday 0) and day of year of each quarter-hour start:
    the zone's UTC offset taken once per UTC day (a change of offset shifts one night's hours)."""
    first_day = int(starts[0]) // DAY_MS
    days = np.arange(first_day, int(starts[-1]) // DAY_MS + 1)
    tz = ZoneInfo(zone)
    offsets = np.array(
        [
            datetime.fromtimestamp(int(d) * 86_400 + 43_200, tz=UTC)
            .astimezone(tz)
            .utcoffset()
            .total_seconds()
            for d in days
        ]
    )
    local_ms = starts + (offsets[starts // DAY_MS - first_day] * 1000).astype(np.int64)
    local_days = local_ms // DAY_MS
    hour = (local_ms % DAY_MS) / 3_600_000
    weekday = (local_days + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = (local_days % 365.2425).astype(float)  # close enough for a season
    return hour, weekday, day_of_year


def _occupancy(hour, weekday, opens: float, closes: float, saturday_closes: float) -> np.ndarray:
    """1 in working hours (half-hour ramps), a short Saturday, nothing on Sunday."""
    ramp_in = np.clip((hour - opens) * 2 + 1, 0, 1)
    ramp_out = np.clip((closes - hour) * 2, 0, 1)
    weekdays = (weekday < 5) * ramp_in * ramp_out
    saturday = (weekday == 5) * ramp_in * np.clip((saturday_closes - hour) * 2, 0, 1) * 0.4
    return weekdays + saturday


def _noise(meter_code: str, shape) -> np.ndarray:
    """A meter's own noise around 1, the same on every run (and for a main meter adding it)."""
    return np.random.default_rng(zlib.crc32(meter_code.encode())).normal(1.0, 0.06, shape).clip(0.7, 1.3)


def _quarter_hour_values(meter: Meter, hour, weekday, day_of_year) -> np.ndarray:
    """kWh (or m³) of each quarter-hour: mean power times 0.25 h, with a little noise."""
    noise = _noise(meter.meter_code, hour.shape)
    winter = np.cos(2 * np.pi * (day_of_year - 15) / 365.2425)  # 1 mid-January, -1 mid-July
    office = _occupancy(hour, weekday, 8, 18, 13)
    shifts = _occupancy(hour, weekday, 6, 22, 14)
    hvac_kw = 3 + office * (10 + 14 * np.abs(winter))
    lighting_kw = 1.2 + office * (6 + 2 * winter)
    other_kw = 5 + office * 9
    match meter.meter_code:
        case "building_hvac_15min":
            kw = hvac_kw * noise
        case "building_lighting_15min":
            kw = lighting_kw * noise
        case "building_main_15min":
            # The sub-meters' own readings plus the rest of the building: unmetered stays positive.
            hvac, lighting = (
                _noise("building_hvac_15min", hour.shape),
                _noise("building_lighting_15min", hour.shape),
            )
            kw = hvac_kw * hvac + lighting_kw * lighting + other_kw * noise
        case "building_water_15min":
            return np.round((0.01 + office * 0.12) * noise, 4)  # m³ a quarter-hour
        case "warehouse_cold_15min":
            kw = (18 - 6 * winter + shifts * 4) * noise
        case "warehouse_main_15min":
            cold = _noise("warehouse_cold_15min", hour.shape)
            kw = (18 - 6 * winter + shifts * 4) * cold + (4 + shifts * 22) * noise
        case _:
            raise ValueError(meter.meter_code)
    return np.round(kw * 0.25, 3)


def demo_meters(
    organization: Organization, *, building: Site, warehouse: Site, now: datetime
) -> dict[str, Series]:
    """The demo meters with EMS_DEMO_METER_DAYS days of quarter-hours ending at the last whole one
    before `now`, and the virtual unmetered meter; keyed by meter code (re-runs find them by it)."""
    sites = {"building": building, "warehouse": warehouse}
    end = datetime_to_ms(now) // QUARTER_HOUR_MS * QUARTER_HOUR_MS
    start = datetime_to_ms(now - timedelta(days=settings.EMS_DEMO_METER_DAYS)) // DAY_MS * DAY_MS
    starts = np.arange(start, end, QUARTER_HOUR_MS, dtype=np.int64)
    clocks = {}
    result = {}
    for meter in METERS:
        site = sites[meter.site]
        series, _ = Series.objects.update_or_create(
            organization=organization,
            meter_code=meter.meter_code,
            defaults={
                "name": meter.name,
                "unit": meter.unit,
                "kind": SeriesKind.INTERVAL,
                "interval_end": False,
                "site": site,
            },
        )
        if site.time_zone not in clocks:
            clocks[site.time_zone] = _local_clock(starts, site.time_zone)
        values = _quarter_hour_values(meter, *clocks[site.time_zone])
        write(SampleBatch(np.full(len(starts), series.pk, dtype=np.int64), starts, values), Policy.OVERWRITE)
        result[meter.meter_code] = series
    unmetered, _ = Series.objects.update_or_create(
        organization=organization,
        meter_code=UNMETERED_METER_CODE,
        defaults={"name": UNMETERED_NAME, "unit": "kWh", "kind": SeriesKind.VIRTUAL, "site": building},
    )
    for meter_code, coefficient in UNMETERED_TERMS:
        VirtualSource.objects.update_or_create(
            virtual=unmetered, source=result[meter_code], defaults={"coefficient": coefficient}
        )
    result[UNMETERED_METER_CODE] = unmetered
    return result
