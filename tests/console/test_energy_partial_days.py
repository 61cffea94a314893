"""The energy overview's partial days (apps/console/energy.py, `period_sums`): a comparison's last
day counts until now's time of day T. Past the middle of the day it is read as the day's row less
its quarter-hours from T on; before, as the quarter-hours until T. Either way the figure is the
consumption of the day's quarter-hours that start before T, computed here by hand and, in the
property test, from the samples in plain Python (the counter rule of docs/energy.md).

"Equal" for floats: within 1e-9 of the magnitude of the day's increments (a day total less a
sum adds in another order than the sum it replaces; the dashboard shows one decimal)."""

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.console.energy import energy_overview
from apps.timeseries.models import Series, SeriesKind
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import OrganizationFactory, SeriesFactory, SiteFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
Q = 900_000
RESET_RATIO = 0.9


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def berlin(day: date, hour: int, minute: int = 0) -> int:
    return ms(datetime.combine(day, time(hour, minute), tzinfo=BERLIN))


def store(series, samples: dict[int, float]) -> None:
    ts = sorted(samples)
    write(SampleBatch([series.pk] * len(ts), ts, [samples[t] for t in ts]), Policy.OVERWRITE)


def meter(kind: str = SeriesKind.COUNTER, zone: str = "Europe/Berlin", *, interval_end: bool = False):
    organization = OrganizationFactory(time_zone="UTC", sample_retention_days=0)
    site = SiteFactory(organization=organization, time_zone=zone)
    series = SeriesFactory(
        organization=organization, site=site, unit="kWh", kind=kind, interval_end=interval_end
    )
    return organization, series


def yesterday_until_now(organization, now: datetime) -> float | None:
    """The overview's figure for today's comparison with yesterday ("today", "previous")."""
    [energy] = energy_overview(organizations=[organization], now=now)
    [unit] = energy.total.units
    return unit.periods["today"].previous


# --- by hand ---------------------------------------------------------------------------------------

TODAY = date(2025, 6, 11)  # a Wednesday
YESTERDAY = date(2025, 6, 10)
# A counter (Berlin) with a reset in the afternoon of yesterday: its increments that day are
# 10, 20, 30, then 5 (the register counts from 0 again: 5 < 0.9 x 1060), 20, 15: 100 in all.
RESET_COUNTER = {
    berlin(date(2025, 6, 9), 23): 1000.0,  # the day before: the first increment reaches back to it
    berlin(YESTERDAY, 3): 1010.0,
    berlin(YESTERDAY, 9): 1030.0,
    berlin(YESTERDAY, 13): 1060.0,
    berlin(YESTERDAY, 15): 5.0,
    berlin(YESTERDAY, 19): 25.0,
    berlin(YESTERDAY, 22): 40.0,
    berlin(TODAY, 1): 50.0,
}


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (10, 0, 30.0),  # before noon: the quarter-hours until 10:00 (03:00 and 09:00)
        (15, 0, 60.0),  # past noon: the reset's quarter-hour (15:00-15:15) starts at T, not before
        (15, 10, 65.0),  # its quarter-hour starts before T: 100 - (20 + 15)
        (16, 30, 65.0),
        (22, 5, 100.0),  # every quarter-hour with samples starts before T: the whole day
        (23, 59, 100.0),
        (0, 30, None),  # no sample yesterday before 00:30: no figure
    ],
)
def test_a_counter_with_a_reset_until_now_s_time_of_day(hour, minute, expected):
    organization, series = meter()
    store(series, RESET_COUNTER)
    now = datetime.combine(TODAY, time(hour, minute), tzinfo=BERLIN)
    assert yesterday_until_now(organization, now) == expected


def test_a_day_whose_samples_all_come_after_now_s_time_of_day_has_no_figure_not_zero():
    organization, series = meter(SeriesKind.INTERVAL)
    store(series, {berlin(YESTERDAY, 20): 4.0, berlin(YESTERDAY, 21): 6.0})
    assert yesterday_until_now(organization, datetime.combine(TODAY, time(18), tzinfo=BERLIN)) is None
    assert yesterday_until_now(organization, datetime.combine(TODAY, time(20, 1), tzinfo=BERLIN)) == 4.0


def test_an_interval_series_labelled_by_the_end_of_its_intervals():
    # 16:00 closes 15:45-16:00, which starts before T = 16:00: counted; 16:15 is not.
    organization, series = meter(SeriesKind.INTERVAL, interval_end=True)
    store(series, {berlin(YESTERDAY, 0): 100.0, berlin(YESTERDAY, 16): 2.0, berlin(YESTERDAY, 16, 15): 3.0})
    # 00:00 closes the day before's last quarter-hour: not yesterday's.
    assert yesterday_until_now(organization, datetime.combine(TODAY, time(16), tzinfo=BERLIN)) == 2.0


def quarter_values(day: date, zone: ZoneInfo) -> dict[int, float]:
    """A sample at the start of every quarter-hour of the local day, the n-th (from 1) worth n."""
    start = ms(datetime.combine(day, time(), tzinfo=zone))
    end = ms(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone))
    return {ts: float(n) for n, ts in enumerate(range(start, end, Q), start=1)}


@pytest.mark.parametrize(
    ("today", "hour", "quarters", "day_quarters"),
    [
        # 30 March 2025, 23 hours (02:00 CET -> 03:00 CEST): 92 quarter-hours.
        (date(2025, 3, 31), 18, 68, 92),  # 00:00 CET to 18:00 CEST is 17 hours
        (date(2025, 3, 31), 13, 48, 92),  # 12 hours elapsed, 11 left: past the middle
        (date(2025, 3, 31), 9, 32, 92),
        # 26 October 2025, 25 hours (03:00 CEST -> 02:00 CET): 100 quarter-hours.
        (date(2025, 10, 27), 18, 76, 100),  # 00:00 CEST to 18:00 CET is 19 hours
        (date(2025, 10, 27), 12, 52, 100),  # 13 hours elapsed, 12 left
        (date(2025, 10, 27), 9, 40, 100),
    ],
)
def test_yesterday_of_23_and_25_hours(today, hour, quarters, day_quarters):
    organization, series = meter(SeriesKind.INTERVAL)
    samples = quarter_values(today - timedelta(days=1), BERLIN)
    assert len(samples) == day_quarters
    store(series, samples)
    now = datetime.combine(today, time(hour), tzinfo=BERLIN)
    assert yesterday_until_now(organization, now) == quarters * (quarters + 1) / 2


def test_a_series_whose_statistics_are_of_another_zone_is_read_as_before():
    """Days stored in Berlin's calendar, the series since moved to London and not yet recomputed:
    its figure is still its quarter-hours from London's midnight to T (the day's row, a Berlin
    day, would not be the sum of those)."""
    organization, series = meter(SeriesKind.INTERVAL)
    store(series, {berlin(YESTERDAY, 0, 30): 7.0, berlin(YESTERDAY, 5): 1.0, berlin(YESTERDAY, 20): 2.0})
    Series.objects.filter(pk=series.pk).update(
        statistics_kind=SeriesKind.INTERVAL, statistics_interval_end=False, statistics_zone="Europe/Berlin"
    )
    series.site.time_zone = "Europe/London"
    series.site.save()
    # 18:00 in London: yesterday from 00:00 London (01:00 Berlin) until 18:00 holds the 05:00 (Berlin)
    # sample only; the Berlin day less the quarter-hours after 18:00 London would give 8.
    now = datetime.combine(TODAY, time(18), tzinfo=ZoneInfo("Europe/London"))
    assert yesterday_until_now(organization, now) == 1.0


# --- against the samples ---------------------------------------------------------------------------

# Today and yesterday in Berlin: an ordinary day, and the days after the 23- and 25-hour days.
TODAYS = [date(2025, 6, 11), date(2025, 3, 31), date(2025, 10, 27)]

values = st.one_of(
    st.integers(0, 60).map(float),
    st.sampled_from([0.0, 100.0, 95.0, 89.0, 1000.0, -3.0, 5.5]),  # resets, steps back
    st.floats(-10, 1e4, allow_nan=False, allow_infinity=False),
)


@st.composite
def scenarios(draw):
    today = draw(st.sampled_from(TODAYS))
    yesterday = today - timedelta(days=1)
    start = ms(datetime.combine(yesterday, time(), tzinfo=BERLIN))
    # From two hours before yesterday to an hour into today, at and inside quarter-hours' edges.
    stamp = st.builds(
        lambda q, offset: start + q * Q + offset,
        st.integers(-8, 104),
        st.sampled_from([0, 1, 300_000, Q - 1]),
    )
    samples = draw(st.dictionaries(stamp, values, min_size=1, max_size=30))
    kind, interval_end = draw(
        st.sampled_from(
            [(SeriesKind.COUNTER, False), (SeriesKind.INTERVAL, False), (SeriesKind.INTERVAL, True)]
        )
    )
    minute = draw(st.integers(0, 24 * 60 - 1))
    second = draw(st.sampled_from([0, 1, 59]))
    at = time(minute // 60, minute % 60, second)
    return today, samples, kind, interval_end, at


def reference(samples: dict[int, float], kind: str, interval_end: bool, lo: int, cut: int):
    """The consumption of the samples counted in quarter-hours starting in [lo, cut), and the
    magnitude of the increments counted there; None when no sample is counted there."""
    shift = 1 if interval_end else 0
    total, magnitude, counted = 0.0, 0.0, False
    previous = None
    for ts in sorted(samples):
        value = samples[ts]
        if kind == SeriesKind.COUNTER:
            if previous is None:
                increment = 0.0
            elif previous > 0 and value < RESET_RATIO * previous:
                increment = value
            else:
                increment = value - previous
            previous = value
        else:
            increment = value
        bucket = (ts - shift) - (ts - shift) % Q
        if lo <= bucket < cut:
            total, magnitude, counted = total + increment, magnitude + abs(increment), True
    return (total if counted else None), magnitude


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_yesterday_until_now_equals_a_recomputation_from_the_samples(scenario):
    today, samples, kind, interval_end, at = scenario
    organization, series = meter(kind, interval_end=interval_end)
    store(series, samples)
    yesterday = today - timedelta(days=1)
    lo = ms(datetime.combine(yesterday, time(), tzinfo=BERLIN))
    cut = ms(datetime.combine(yesterday, at, tzinfo=BERLIN))
    expected, magnitude = reference(samples, kind, interval_end, lo, cut)

    figure = yesterday_until_now(organization, datetime.combine(today, at, tzinfo=BERLIN).astimezone(UTC))

    if expected is None:
        assert figure is None
    else:
        assert figure is not None
        assert math.isclose(figure, expected, rel_tol=1e-9, abs_tol=1e-9 * magnitude), (figure, expected)
