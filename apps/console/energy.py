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
day's middle, its daily row less its quarter-hours after then (`_period_sums`).

A virtual series is a derived view: it is listed among the top consumers, from its sources'
period totals (coefficients applied, virtual sources expanded), but never added into the unit
totals. A meter a virtual series subtracts (`Main - Σ sub-meters`) is declared part of another
meter: it is listed too, but not added either, so a main meter and its sub-meters are not counted
twice. Its sources are read in their own calendars, which for a source in another zone than
the virtual series' shifts the day edges by the zones' difference.
"""

import json
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, IntegerField, Sum, Value, When

from apps.timeseries.models import DailyStatistics, QuarterHourStatistics, Series, SeriesKind, VirtualSource
from apps.timeseries.selectors import series_zone

PERIODS = ("today", "week", "month", "year")
PERIOD_LABELS = {"today": "Today", "week": "This week", "month": "This month", "year": "This year"}
COMPARISONS = ("current", "previous", "last_year")
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


@dataclass(frozen=True)
class Change:
    """A period's consumption beside a comparison: None when either is unknown or the comparison
    is 0 (no percentage of nothing)."""

    value: float | None
    reference: float | None

    @property
    def percent(self) -> float | None:
        if self.value is None or not self.reference:
            return None
        return (self.value - self.reference) / abs(self.reference) * 100

    @property
    def arrow(self) -> str:
        percent = self.percent
        if percent is None:
            return ""
        return "↑" if percent > 0.05 else "↓" if percent < -0.05 else "→"


@dataclass(frozen=True)
class PeriodFigures:
    current: float | None
    previous: float | None
    last_year: float | None

    @property
    def against_previous(self) -> Change:
        return Change(self.current, self.previous)

    @property
    def against_last_year(self) -> Change:
        return Change(self.current, self.last_year)


@dataclass
class UnitFigures:
    """One unit's consumption of a place (organization or site) per period, and its kWh per m²."""

    unit: str
    periods: dict[str, PeriodFigures]
    # kWh per m² per period, for a site with a floor area and the unit kWh; else empty.
    intensity: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Consumer:
    series: Series
    month: float
    last_year: float | None

    @property
    def against_last_year(self) -> Change:
        return Change(self.month, self.last_year)


@dataclass
class PlaceEnergy:
    """An organization's or a site's figures: `units` in unit order."""

    name: str
    zone: str
    units: list[UnitFigures]
    floor_area: float | None = None


@dataclass
class OrganizationEnergy:
    organization: object
    total: PlaceEnergy
    sites: list[PlaceEnergy]
    # Per unit, the month's biggest consumers (virtual series included), biggest first.
    top: dict[str, list[Consumer]]

    @property
    def places(self) -> list[PlaceEnergy]:
        """The organization's total, then its sites: the table's rows."""
        return [self.total, *self.sites]


def _utc_midnight_ms(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp() * 1000)


def cut_comparisons(today: date) -> set[tuple[str, str]]:
    """The comparisons whose last day counts only until the time of day it is now, as today does:
    all but the previous month when it is shorter than this month so far (then it counts whole)."""
    keys = {(period, comparison) for period in PERIODS for comparison in ("previous", "last_year")}
    if today.day > (today.replace(day=1) - timedelta(days=1)).day:
        keys.discard(("month", "previous"))
    return keys


def _local_ms(day: date, at: time, zone: str) -> int:
    return int(datetime.combine(day, at, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def _period_sums(
    series_zones: dict[int, str], zones: dict[str, dict], now: datetime, current: set[int] = frozenset()
) -> dict[int, dict[tuple[str, str], float]]:
    """Per stored series (id -> its zone), its consumption per (period, comparison): the whole
    days from the daily table, and a comparison's last day until now's time of day T
    (cut_comparisons) from the quarter-hours: two aggregate queries.

    Neither query sums per period: each sums a series' rows per segment, the stretches between
    consecutive edges of every zone's periods (a period is a run of whole segments), and a
    period's figure is the sum of its segments' here. One bucket a row (PostgreSQL's
    width_bucket, else one CASE of plain comparisons), not a CASE per period and zone, and no
    join for the series' zones (known here): with 1,000 series the daily read took 355 ms the
    other way, 60 now. The quarter-hours are read only within each series' own windows (on
    PostgreSQL an index range a (series, window)), not within the windows of every zone: the
    other way read all of every series' quarter-hours (14 s for 10,000,000 rows;
    docs/performance.md, "Console").

    The smaller side of a last day: a day's daily row is the sum of its quarter-hours (both its
    consumption and its count of samples; stats/buckets.py, stats/bulk.py), so when T is past
    the middle of the day, a series in `current` (statistics computed for its kind, interval end
    and zone of now) counts the day's row less its quarter-hours from T to the day's end: at most
    half a day of quarter-hours is read a series and day. The day's row is read with the whole
    days (each cut day a segment of its own). No quarter-hour before T (the day's samples all
    after it) is no figure, as before."""
    if not series_zones:
        return {}
    first = min(start for ranges in zones.values() for start, _ in ranges.values())
    last = max(end for ranges in zones.values() for _, end in ranges.values())
    # Day rows start at a local midnight: a day of margin each side covers every zone's offset.
    low_ms = _utc_midnight_ms(first - timedelta(days=1))
    high_ms = _utc_midnight_ms(last + timedelta(days=1))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for series_id, zone in series_zones.items():
        by_zone[zone].append(series_id)
    day_periods: dict[str, dict[tuple[str, str], tuple[date, date]]] = {}
    cut_periods: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    # zone -> (day start, T) -> (the day's date, its end): the last days cut at T.
    cut_days: dict[str, dict[tuple[int, int], tuple[date, int]]] = {}
    for zone, ranges in zones.items():
        today = ranges["today", "current"][0]
        cuts = cut_comparisons(today)
        at = now.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
        day_periods[zone], cut_periods[zone], cut_days[zone] = {}, {}, {}
        for key, (start, end) in ranges.items():
            if key in cuts:
                cut = (
                    _local_ms(end - timedelta(days=1), time(), zone),
                    _local_ms(end - timedelta(days=1), at, zone),
                )
                cut_periods[zone][key] = cut
                cut_days[zone][cut] = (end - timedelta(days=1), _local_ms(end, time(), zone))
                end -= timedelta(days=1)
            day_periods[zone][key] = (start, end)
    # The cut days' ends too: each cut day is then a segment of its own, its row read with the
    # whole days (a cut period's trimmed end is already an edge: the cut day's start).
    ends = {day + timedelta(days=1) for days in cut_days.values() for day, _ in days.values()}
    day_edges, cut_edges = sorted(set(_edges(day_periods)) | ends), _edges(cut_periods)
    if connection.vendor == "postgresql":
        day_rows = _day_segments_postgresql(list(series_zones), low_ms, high_ms, day_edges)
    else:
        day_rows = _segments(
            DailyStatistics.objects.filter(
                start__gte=low_ms, start__lt=high_ms, series_id__in=list(series_zones)
            ),
            "day",
            day_edges,
        )
    day_index = {edge: i for i, edge in enumerate(day_edges)}
    days = {(series_id, segment): (total, samples) for series_id, segment, total, samples in day_rows}
    # (series, first ms, end ms) of each quarter-hour range read, and what it stands for: the
    # series' window (day start, T) and whether it is the day's rest after T. A series in
    # `current` without a row for the day has no quarter-hour in it: nothing to read (a year
    # back, most series of a young installation).
    reads: list[tuple[int, int, int]] = []
    meaning: list[tuple[int, tuple[int, int], date | None]] = []
    for zone, ids in by_zone.items():
        for (lo, cut_at), (day, day_end) in sorted(cut_days[zone].items()):
            rest = day_end - cut_at < cut_at - lo
            segment = day_index[day]
            for series_id in ids:
                if series_id not in current:
                    reads.append((series_id, lo, cut_at))
                    meaning.append((series_id, (lo, cut_at), None))
                elif (series_id, segment) not in days:
                    continue
                elif rest:
                    reads.append((series_id, cut_at, day_end))
                    meaning.append((series_id, (lo, cut_at), day))
                else:
                    reads.append((series_id, lo, cut_at))
                    meaning.append((series_id, (lo, cut_at), None))
    if connection.vendor == "postgresql":
        quarter_sums = _window_sums_postgresql(reads)
    else:
        quarter_sums = _window_sums_sqlite(reads)
    cut_segment = {edge: i for i, edge in enumerate(cut_edges)}
    cut_rows = []
    for (series_id, window, day), (total, samples) in zip(meaning, quarter_sums, strict=True):
        if day is None:
            value = total
        else:
            day_total, day_samples = days.get((series_id, day_index[day]), (None, 0))
            # Samples before T (a quarter-hour row there) or none: then no figure, as before.
            before = day_total is not None and day_samples > (samples or 0)
            value = day_total - (total or 0.0) if before else None
        if value is not None:
            cut_rows.append((series_id, cut_segment[window[0]], value))
    result: dict[int, dict] = {}
    day_sums = [(series_id, segment, total) for series_id, segment, total, _ in day_rows]
    for rows, edges, periods in ((day_sums, day_edges, day_periods), (cut_rows, cut_edges, cut_periods)):
        for series_id, figures in _segment_sums(rows, edges, series_zones, periods).items():
            sums = result.setdefault(series_id, {})
            for key, value in figures.items():
                if value is not None:
                    sums[key] = (sums.get(key) or 0.0) + value
                else:
                    sums.setdefault(key, None)
    return result


def _edges(periods: dict[str, dict]) -> list:
    """The sorted edges of every period of every zone (`periods`: zone -> key -> [start, end))."""
    return sorted({edge for spans in periods.values() for span in spans.values() for edge in span})


def _segments(queryset, field: str, edges: list) -> list[tuple[int, int, float | None, int | None]]:
    """(series id, segment, consumption, samples) of `queryset`'s rows summed per series and
    segment: segment i is [edges[i], edges[i + 1]) of `field`, -1 outside the edges."""
    segment = Case(
        When(**{f"{field}__lt": edges[0]}, then=Value(-1)),
        *(When(**{f"{field}__lt": edge}, then=Value(i)) for i, edge in enumerate(edges[1:])),
        default=Value(-1),
        output_field=IntegerField(),
    )
    return list(
        queryset.order_by()
        .annotate(segment=segment)
        .values("series_id", "segment")
        .annotate(total=Sum("consumption"), samples=Sum("count"))
        .values_list("series_id", "segment", "total", "samples")
    )


def _window_sums_sqlite(reads: list[tuple[int, int, int]]) -> list[tuple[float | None, int | None]]:
    """(consumption, samples) of each (series, first ms, end ms) of `reads`' quarter-hours, in
    their order: one join with the list (as JSON), grouped by its position. Run for an empty
    list too, so that the overview's count of queries does not depend on the data."""
    quarters = QuarterHourStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.key, SUM(q.consumption), SUM(q.count) FROM json_each(%s) w "
            f"JOIN {quarters} q ON q.series_id = json_extract(w.value, '$[0]') "
            "AND q.start >= json_extract(w.value, '$[1]') AND q.start < json_extract(w.value, '$[2]') "
            "GROUP BY w.key",
            [json.dumps(reads)],
        )
        found = {key: (total, samples) for key, total, samples in cursor.fetchall()}
    return [found.get(i, (None, None)) for i in range(len(reads))]


def _day_segments_postgresql(series_ids, low_ms, high_ms, day_edges):
    """`_segments` of the days on PostgreSQL: a day's segment by width_bucket (a binary search;
    from the last edge on it is len(edges) - 1, which no period holds), the ids as an array
    parameter (psycopg formats an IN list parameter by parameter)."""
    days = DailyStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT series_id, width_bucket(day, %s::date[]) - 1, SUM(consumption), SUM(count) FROM {days} "
            "WHERE series_id = ANY(%s::bigint[]) AND start >= %s AND start < %s GROUP BY 1, 2",
            [_array(map(str, day_edges)), _array(map(str, series_ids)), low_ms, high_ms],
        )
        return cursor.fetchall()


def _window_sums_postgresql(reads: list[tuple[int, int, int]]) -> list[tuple[float | None, int | None]]:
    """`_window_sums_sqlite` on PostgreSQL: the ranges as array parameters, summed one by one, an
    index range scan each (no aggregate over all the rows read: a third faster)."""
    quarters = QuarterHourStatistics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.total, s.samples FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) "
            "WITH ORDINALITY AS w(sid, lo, hi, n) CROSS JOIN LATERAL "
            f"(SELECT SUM(q.consumption) AS total, SUM(q.count) AS samples FROM {quarters} q "
            "WHERE q.series_id = w.sid AND q.start >= w.lo AND q.start < w.hi) s ORDER BY w.n",
            [_array(str(read[i]) for read in reads) for i in range(3)],
        )
        return cursor.fetchall()


def _array(items) -> str:
    return "{" + ",".join(items) + "}"


def _segment_sums(rows, edges: list, series_zones: dict[int, str], periods: dict[str, dict]):
    """Each series' consumption per period of its zone (`periods`: zone -> key -> [start, end))
    from its segments' sums (`rows`, as `_segments` gives them): series id -> key -> sum (None:
    no row with a consumption in the period), for the series with rows (every key of its zone
    listed)."""
    by_series: dict[int, dict[int, float | None]] = defaultdict(dict)
    for series_id, segment, total in rows:
        by_series[series_id][segment] = total
    spans = {
        zone: {
            key: range(bisect_left(edges, start), bisect_left(edges, end))
            for key, (start, end) in keys.items()
        }
        for zone, keys in periods.items()
    }
    result = {}
    for series_id, segments in by_series.items():
        figures = {}
        for key, indexes in spans.get(series_zones[series_id], {}).items():
            values = [segments[i] for i in indexes if segments.get(i) is not None]
            figures[key] = sum(values) if values else None
        result[series_id] = figures
    return result


def _statistics_current(series: Series, zone: str) -> bool:
    """Whether the series' statistics are those of its kind, interval end and zone now: not being
    recomputed, and what they were computed for, where recorded, is what it is (a series whose
    statistics were never recorded was written in its calendar of now; stats/basis.py). Only
    then is a day's row the sum of its quarter-hours as `_period_sums` reads them."""
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
    sums = _period_sums(stored_zones, zones, now, current)
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
