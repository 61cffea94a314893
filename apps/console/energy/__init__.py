"""The dashboard's energy overview: per organization and per site, the consumption of today, this
week, this month and this year for each unit, beside the previous period and the same period last
year; the month's top consumers; kWh per m² for sites with a floor area (issue #15 item 2).

Read from the statistics only (docs/energy.md), never the samples, in four queries whatever the
number of series: the energy series with site and organization, the virtual series' terms, one
aggregate over `timeseries_stats_day` that sums each stored series' consumption per segment
between the periods' edges (the days of a series are already those of its own calendar, its
site's zone else its organization's), and one over the quarter-hours of the comparisons' last
days.

Periods compare equal lengths: a period "so far" (today until now) against the same days of the
previous period (this month to the 10th against last month to the 10th, clamped to its last day)
and of the same period last year (the week 52 weeks back, so weekdays match), whose last day
counts until the same time of day as today does: its quarter-hours until then or, past the
day's middle, its daily row less its quarter-hours after then (`period_sums`).

A virtual series is a derived view: it is listed among the top consumers, from its sources'
period totals (coefficients applied, virtual sources expanded), but never added into the unit
totals. A meter a virtual series subtracts (`Main - Σ sub-meters`) is declared part of another
meter: it is listed too, but not added either, so a main meter and its sub-meters are not counted
twice. Its sources are read in their own calendars, which for a source in another zone than
the virtual series' shifts the day edges by the zones' difference.
"""

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from apps.timeseries.models import Series, SeriesKind, VirtualSource
from apps.timeseries.selectors import series_zone

from .figures import Change, Consumer, OrganizationEnergy, PeriodFigures, PlaceEnergy, UnitFigures
from .periods import COMPARISONS, PERIOD_LABELS, PERIODS, cut_comparisons, period_ranges
from .sums import period_sums

__all__ = [
    "COMPARISONS",
    "PERIODS",
    "PERIOD_LABELS",
    "Change",
    "Consumer",
    "OrganizationEnergy",
    "PeriodFigures",
    "PlaceEnergy",
    "UnitFigures",
    "cut_comparisons",
    "energy_overview",
    "period_ranges",
]

TOP_CONSUMERS = 10
ENERGY_KINDS = (SeriesKind.COUNTER, SeriesKind.INTERVAL, SeriesKind.VIRTUAL)
INTENSITY_UNIT = "kWh"
_SERIES_FIELDS = (
    "name",
    "meter_code",
    "unit",
    "kind",
    "organization",
    "site",
    "site__organization",
    "site__name",
    "site__time_zone",
    "site__floor_area",
    # What its statistics were computed for (`_statistics_current`).
    "interval_end",
    "statistics_pending",
    "statistics_kind",
    "statistics_interval_end",
    "statistics_zone",
)


def _statistics_current(series: Series, zone: str) -> bool:
    """Whether the series' statistics are those of its kind, interval end and zone now: not being
    recomputed, and what they were computed for, where recorded, is what it is (a series whose
    statistics were never recorded was written in its calendar of now; stats/basis.py). Only
    then is a day's row the sum of its quarter-hours as `period_sums` reads them."""
    return not series.statistics_pending and all(
        recorded is None or recorded == now
        for recorded, now in (
            (series.statistics_kind, series.kind),
            (series.statistics_interval_end, series.interval_end),
            (series.statistics_zone, zone),
        )
    )


def _virtual_sums(virtual_ids, terms, stored_sums):
    """A virtual series' period sums: Σ coefficient * its sources' (virtual sources expanded)."""
    expanded: dict[int, dict] = {}

    def expand(series_id, seen):
        if series_id in expanded:
            return expanded[series_id]
        if series_id not in terms:
            return stored_sums.get(series_id, {})
        totals: dict[tuple[str, str], float] = {}
        for source_id, coefficient in terms[series_id]:
            if source_id in seen:  # refused by the admin; never loop
                continue
            for key, value in expand(source_id, seen | {source_id}).items():
                if value is not None:
                    totals[key] = totals.get(key, 0.0) + coefficient * value
        expanded[series_id] = totals
        return totals

    return {pk: expand(pk, {pk}) for pk in virtual_ids}


def _unit_figures(unit: str, sums: list[dict], floor_area: float | None = None) -> UnitFigures:
    def added(key):
        values = [s[key] for s in sums if s.get(key) is not None]
        return sum(values) if values else None

    periods = {p: PeriodFigures(*(added((p, c)) for c in COMPARISONS)) for p in PERIODS}
    intensity = {}
    if floor_area and unit == INTENSITY_UNIT:
        intensity = {p: None if f.current is None else f.current / floor_area for p, f in periods.items()}
    return UnitFigures(unit=unit, periods=periods, intensity=intensity)


def energy_overview(*, organizations: list, now: datetime) -> list[OrganizationEnergy]:
    """The energy figures of `organizations` (model instances), as of `now`, in their order."""
    organization_ids = [o.pk for o in organizations]
    # The fields read here and by the dashboard's template only, and each series' organization
    # from `organizations` rather than a copy a row: a model instance a row is what a thousand
    # series cost most.
    series_list = list(
        Series.objects.filter(organization_id__in=organization_ids, kind__in=ENERGY_KINDS)
        .select_related("site")
        .only(*_SERIES_FIELDS)
        .order_by("name", "pk")
    )
    if not series_list:
        return []
    by_id = {o.pk: o for o in organizations}
    for series in series_list:
        series.organization = by_id[series.organization_id]
    zones = {}
    for series in series_list:
        zone = series_zone(series)
        if zone not in zones:
            zones[zone] = period_ranges(now.astimezone(ZoneInfo(zone)).date())
    stored = [s for s in series_list if s.kind != SeriesKind.VIRTUAL]
    virtual = [s for s in series_list if s.kind == SeriesKind.VIRTUAL]
    terms: dict[int, list[tuple[int, float]]] = defaultdict(list)
    # Every virtual series' terms (sources may be virtual; they are always of the virtual series'
    # organization), read even without virtual series, so the count of queries is fixed.
    for virtual_id, source_id, coefficient in VirtualSource.objects.filter(
        virtual__organization_id__in=organization_ids
    ).values_list("virtual_id", "source_id", "coefficient"):
        terms[virtual_id].append((source_id, coefficient))
    sub_meters = {source for pairs in terms.values() for source, coefficient in pairs if coefficient < 0}
    stored_zones = {s.pk: series_zone(s) for s in stored}
    current = {s.pk for s in stored if _statistics_current(s, stored_zones[s.pk])}
    sums = period_sums(stored_zones, zones, now, current)
    sums.update(_virtual_sums([s.pk for s in virtual], terms, sums))

    result = []
    for organization in organizations:
        own = [s for s in series_list if s.organization_id == organization.pk]
        if not own:
            continue
        own_stored = [s for s in own if s.kind != SeriesKind.VIRTUAL and s.pk not in sub_meters]
        units = sorted({s.unit for s in own_stored})
        total = PlaceEnergy(
            name=organization.name,
            zone=organization.time_zone,
            units=[_unit_figures(u, [sums.get(s.pk, {}) for s in own_stored if s.unit == u]) for u in units],
        )
        sites = {}
        for s in own_stored:
            if s.site_id is not None:
                sites.setdefault(s.site_id, s.site)
        site_places = []
        for site in sorted(sites.values(), key=lambda site: site.name):
            in_site = [s for s in own_stored if s.site_id == site.pk]
            area = site.floor_area
            site_places.append(
                PlaceEnergy(
                    name=site.name,
                    zone=site.time_zone,
                    floor_area=site.floor_area,
                    units=[
                        _unit_figures(unit, [sums.get(s.pk, {}) for s in in_site if s.unit == unit], area)
                        for unit in sorted({s.unit for s in in_site})
                    ],
                )
            )
        top: dict[str, list[Consumer]] = {}
        for series in own:
            month = sums.get(series.pk, {}).get(("month", "current"))
            if month is None:
                continue
            last_year = sums.get(series.pk, {}).get(("month", "last_year"))
            top.setdefault(series.unit, []).append(Consumer(series=series, month=month, last_year=last_year))
        for unit in top:
            top[unit] = sorted(top[unit], key=lambda c: (-c.month, c.series.name))[:TOP_CONSUMERS]
        result.append(
            OrganizationEnergy(
                organization=organization,
                total=total,
                sites=site_places,
                top=dict(sorted(top.items())),
            )
        )
    return result
