"""What the overview shows, as the dashboard's template reads it: a change against a period, the
figures of a unit and a place, the top consumers."""

from dataclasses import dataclass, field

from apps.timeseries.models import Series


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
