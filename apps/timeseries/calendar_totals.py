"""A series' figures per local day of a month and per local month of a year, from its statistics:
the totals table under the admin's chart.

Separate from charts.py because it draws nothing: it reads the statistics by calendar period,
where the charts thin samples and rollups over a time range.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .models import Series
from .selectors import series_zone
from .stats.edges import BucketSize
from .stats.read import SeriesStatistics, statistics_read


@dataclass(frozen=True, slots=True)
class CalendarTotal:
    """One local day or month of a series, from its statistics (stats/read.py): `total` its
    consumption (None for a measurement), `resets` and `steps_back` a counter's (None for a
    virtual series); the figures are None when the period holds no sample."""

    label: str
    start: datetime
    hours: float
    count: int
    total: float | None
    mean: float | None
    min: float | None
    max: float | None
    resets: int | None
    steps_back: int | None


@dataclass(frozen=True, slots=True)
class CalendarTotals:
    """The days of one local month and the months of one local year of a series."""

    time_zone: str
    kind: str
    month: date  # the first of the month whose days are listed
    year: int  # the year whose months are listed
    days: list[CalendarTotal]
    months: list[CalendarTotal]

    @property
    def counts_consumption(self) -> bool:
        return self.kind != "measurement"

    @property
    def previous_month(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next_month(self) -> date:
        return (self.month + timedelta(days=31)).replace(day=1)


def _calendar_rows(read: SeriesStatistics, label_format: str) -> list[CalendarTotal]:
    return [
        CalendarTotal(
            label=format(start, label_format),
            start=start,
            hours=(read.edges_ms[i + 1] - read.edges_ms[i]) / 3_600_000,
            count=read.count[i],
            total=read.total[i],
            mean=read.mean[i],
            min=read.min[i],
            max=read.max[i],
            resets=read.resets[i],
            steps_back=read.steps_back[i],
        )
        for i, start in enumerate(read.starts)
    ]


def calendar_totals(*, series: Series, month: date, year: int) -> CalendarTotals:
    """A series' figures per local day of `month` and per local month of `year`, oldest first,
    in its zone, from its statistics: any month or year, an imported past one included.

    A day is 23 or 25 hours long across a daylight-saving change; empty periods are listed too.
    Two statistics reads (one a statement for a stored series), never the samples."""
    month = month.replace(day=1)
    next_month = (month + timedelta(days=31)).replace(day=1)
    days = statistics_read([series], start=month, end=next_month, bucket=BucketSize.DAY)[series.pk]
    months = statistics_read(
        [series], start=date(year, 1, 1), end=date(year + 1, 1, 1), bucket=BucketSize.MONTH
    )[series.pk]
    return CalendarTotals(
        time_zone=series_zone(series),
        kind=series.kind,
        month=month,
        year=year,
        days=_calendar_rows(days, "%Y-%m-%d %a"),
        months=_calendar_rows(months, "%Y-%m"),
    )
