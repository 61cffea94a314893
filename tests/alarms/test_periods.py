"""Consumption against its baseline, and gaps, judged on the statistics the store keeps."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.alarms.periods import judged_windows
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, SiteFactory

from .conftest import alarms_of, evaluate, events_of, ms

ZURICH = ZoneInfo("Europe/Zurich")
QUARTER = timedelta(minutes=15)


def _rate(moment: datetime) -> float:
    """kWh an hour: 10 on working hours of weekdays, 0.5 otherwise; the ventilation left on
    on Saturday 7 March 2026 from 14:00 to 15:00 (local) uses 10."""
    local = moment.astimezone(ZURICH)
    if local.date() == datetime(2026, 3, 7).date() and local.hour == 14:
        return 10.0
    return 10.0 if local.weekday() < 5 and 8 <= local.hour < 18 else 0.5


@pytest.fixture
def building(org):
    """A counter on a site in Zurich, read every quarter-hour for five weeks to Saturday 17:00:
    each reading adds a quarter of its hour's rate, so a local hour's consumption is its rate."""
    site = SiteFactory(organization=org, time_zone="Europe/Zurich")
    meter = SeriesFactory(organization=org, site=site, kind="counter", name="Main energy")
    end = datetime(2026, 3, 7, 17, 0, tzinfo=ZURICH)
    moment, register, ts, values = end - timedelta(days=36), 1000.0, [], []
    while moment <= end:
        register += _rate(moment) / 4
        ts.append(ms(moment))
        values.append(register)
        moment += QUARTER
    write(SampleBatch([meter.pk] * len(ts), ts, values), Policy.OVERWRITE)
    return meter


def test_judged_windows_are_the_last_local_hour_and_the_same_hour_of_the_four_weeks_before():
    now = datetime(2026, 3, 7, 15, 20, tzinfo=ZURICH)
    windows = judged_windows(now=now, delay=timedelta(minutes=15), period="hour", zone="Europe/Zurich")
    starts = [
        datetime.fromtimestamp(start / 1000, ZURICH).strftime("%a %Y-%m-%d %H:%M") for start, _ in windows
    ]
    assert starts == [
        "Sat 2026-03-07 14:00",
        "Sat 2026-02-28 14:00",
        "Sat 2026-02-21 14:00",
        "Sat 2026-02-14 14:00",
        "Sat 2026-02-07 14:00",
    ]
    assert all(end - start == 3_600_000 for start, end in windows)


def test_judged_day_across_a_daylight_saving_change_is_23_hours():
    now = datetime(2026, 3, 30, 6, 0, tzinfo=ZURICH)
    [(start, end), *_] = judged_windows(now=now, delay=timedelta(0), period="day", zone="Europe/Zurich")
    assert end - start == 23 * 3_600_000


@pytest.mark.django_db
def test_consumption_rule_flags_the_weekend_hour_the_ventilation_ran_and_clears_after(
    building, make_rule, clock
):
    rule = make_rule(
        kind="consumption",
        scope="kind",
        series_kind="counter",
        period="hour",
        percent=150,
        delay_minutes=15,
        severity="minor",
    )
    clock.at(datetime(2026, 3, 6, 11, 20, tzinfo=ZURICH))  # a Friday morning like the others
    evaluate()
    assert alarms_of(rule) == []

    clock.at(datetime(2026, 3, 7, 15, 20, tzinfo=ZURICH))
    evaluate()
    [alarm] = alarms_of(rule)
    assert alarm.series_id == building.pk
    assert alarm.value == pytest.approx(10.0)
    assert alarm.message == (
        "Consumption 10 in the hour from 2026-03-07 14:00 (2000% of the baseline 0.5; limit 150%)"
    )

    clock.at(datetime(2026, 3, 7, 15, 40, tzinfo=ZURICH))
    evaluate()  # the same hour judged again: still one alarm
    assert len(alarms_of(rule)) == 1

    clock.at(datetime(2026, 3, 7, 16, 20, tzinfo=ZURICH))
    evaluate()
    [alarm] = alarms_of(rule)
    assert alarm.cleared_at == datetime(2026, 3, 7, 16, 20, tzinfo=ZURICH)
    assert events_of(rule) == ["opened", "cleared"]


@pytest.mark.django_db
def test_daily_consumption_rule_compares_the_saturday_with_the_four_saturdays_before(
    building, make_rule, clock
):
    rule = make_rule(
        kind="consumption", scope="series", series=building, period="day", percent=130, delay_minutes=30
    )
    clock.at(datetime(2026, 3, 8, 0, 45, tzinfo=ZURICH))
    evaluate()
    [alarm] = alarms_of(rule)
    # Saturday to 17:00, when the readings stop: 16 hours at 0.5, one at 10, and the reading at
    # 17:00 (a quarter of 0.5); the Saturdays before used 24 x 0.5 = 12, and 130 % of it is 15.6.
    assert alarm.value == pytest.approx(16 * 0.5 + 10 + 0.5 / 4)


@pytest.mark.django_db
def test_gaps_rule_counts_the_missing_intervals_of_the_completed_day_and_clears_when_filled(
    org, make_rule, clock
):
    profile = SeriesFactory(organization=org, kind="interval", name="Load profile")
    rule = make_rule(kind="gaps", scope="series", series=profile, interval_minutes=15, delay_minutes=15)
    day = datetime(2026, 3, 3, tzinfo=UTC)
    slots = [day + i * QUARTER for i in range(96)]
    missing = slots[40:44]
    present = [s for s in slots if s not in missing]
    clock.at(datetime(2026, 3, 4, 0, 20, tzinfo=UTC))
    write(
        SampleBatch([profile.pk] * len(present), [ms(s) for s in present], [1.0] * len(present)),
        Policy.OVERWRITE,
    )
    evaluate()
    [alarm] = alarms_of(rule)
    assert (alarm.value, alarm.message) == (4, "4 of 96 intervals missing on 2026-03-03")

    clock.at(datetime(2026, 3, 4, 0, 40, tzinfo=UTC))
    write(SampleBatch([profile.pk] * 4, [ms(s) for s in missing], [1.0] * 4), Policy.OVERWRITE)
    evaluate()
    assert [a.cleared_at for a in alarms_of(rule)] == [datetime(2026, 3, 4, 0, 40, tzinfo=UTC)]


@pytest.mark.django_db
def test_gaps_rule_expects_92_quarter_hours_on_the_day_clocks_go_forward(org, make_rule, clock):
    site = SiteFactory(organization=org, time_zone="Europe/Zurich")
    profile = SeriesFactory(organization=org, site=site, kind="interval")
    rule = make_rule(kind="gaps", scope="site", site=site, interval_minutes=15, delay_minutes=0)
    start = datetime(2026, 3, 29, tzinfo=ZURICH).astimezone(UTC)
    slots = [start + i * QUARTER for i in range(92)]
    clock.at(datetime(2026, 3, 30, 0, 5, tzinfo=ZURICH))
    write(SampleBatch([profile.pk] * 92, [ms(s) for s in slots], [1.0] * 92), Policy.OVERWRITE)
    evaluate()
    assert alarms_of(rule) == []
