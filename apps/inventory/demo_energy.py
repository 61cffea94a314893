"""The demo organization's place and its 15-minute load profile (apps/inventory/demo.py).

Kept beside the demo seed rather than in it: the seed module is already long, and these are the
parts the energy statistics read (a site's time zone, an `interval` series).
"""

from collections.abc import Callable

from apps.tenancy.models import Organization, Site
from apps.timeseries.models import Series, SeriesKind
from apps.timeseries.store import Policy, SampleBatch, write

SITE_NAME = "Demo building"
SITE_TIME_ZONE = "Europe/Rome"
SITE_FLOOR_AREA_M2 = 1200.0
SITE_ADDRESS = "Via dell'Esempio 1, 36100 Vicenza, Italy"
PROFILE_NAME = "Main energy per 15 minutes"
PROFILE_METER_CODE = "main_energy_15min"
QUARTER_HOUR_MS = 15 * 60_000
PROFILE_DAYS = 3


def demo_site(organization: Organization) -> Site:
    """The demo's one site, brought back to its demo state (found by name)."""
    site, _ = Site.objects.update_or_create(
        organization=organization,
        name=SITE_NAME,
        defaults={"time_zone": SITE_TIME_ZONE, "floor_area": SITE_FLOOR_AREA_M2, "address": SITE_ADDRESS},
    )
    return site


def demo_load_profile(
    organization: Organization, *, site: Site, counter: Callable[[int], float], last_ms: int
) -> Series:
    """A 15-minute kWh load profile (`interval`, timestamps at the start of each interval) over the
    PROFILE_DAYS days of whole quarter hours ended by `last_ms`: each value is what the energy
    register `counter` (epoch ms -> kWh) advanced in its quarter hour, so the profile and the
    register agree. Re-runs write the same samples."""
    series, _ = Series.objects.update_or_create(
        organization=organization,
        meter_code=PROFILE_METER_CODE,
        defaults={
            "name": PROFILE_NAME,
            "unit": "kWh",
            "kind": SeriesKind.INTERVAL,
            "interval_end": False,
            "site": site,
        },
    )
    end = last_ms // QUARTER_HOUR_MS * QUARTER_HOUR_MS  # the end of the last whole quarter hour
    count = PROFILE_DAYS * 24 * 4
    starts = [end - (count - i) * QUARTER_HOUR_MS for i in range(count)]
    values = [round(counter(start + QUARTER_HOUR_MS) - counter(start), 3) for start in starts]
    write(SampleBatch(series_ids=[series.pk] * count, ts=starts, values=values), Policy.OVERWRITE)
    return series
