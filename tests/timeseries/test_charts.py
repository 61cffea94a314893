"""The admin's charts: period choice and point cap, the JSON endpoint of every admin with a series,
and daily / monthly totals across daylight-saving changes (run on SQLite and on PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.exceptions import Invalid
from apps.inventory.admin import SignalAdmin
from apps.inventory.models import DataStream, Point, Signal
from apps.timeseries.charts import MAX_POINTS, PERIOD_LADDER_MS, calendar_totals, chart_period, series_chart
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import (
    DataStreamFactory,
    OrganizationFactory,
    PointFactory,
    SignalFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECOND = 1_000
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
# 2025-01-01T00:00:00Z: a multiple of every period of the ladder but the week (epoch weeks start
# on Thursdays), so periods below start exactly here.
T0 = 1_735_689_600_000


def chart_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_chart", args=[obj.pk])


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def write_samples(series, ts, values):
    write(SampleBatch([series.pk] * len(ts), list(ts), list(values)), Policy.OVERWRITE)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def minutes(series):
    """Three days of one-minute samples whose value is the minute's index: 4,320 samples."""
    write_samples(series, range(T0, T0 + 3 * DAY, MINUTE), (float(i) for i in range(3 * 24 * 60)))
    return series


# Choosing the period


@pytest.mark.parametrize(
    ("span", "period"),
    [
        (HOUR, 5 * SECOND),  # 3,600 one-second periods would be too many; 720 of five seconds
        (DAY, MINUTE),  # 1,440
        (7 * DAY, 10 * MINUTE),  # 1,008 (five minutes would give 2,016)
        (30 * DAY, 30 * MINUTE),  # 1,440
        (365 * DAY, 6 * HOUR),  # 1,460
        (5 * 365 * DAY, DAY),  # 1,825
        (20 * 365 * DAY, 7 * DAY),  # 1,043
    ],
)
def test_chart_period_is_the_shortest_of_the_ladder_within_the_cap(span, period):
    assert chart_period(start_ms=T0, end_ms=T0 + span) == period


def test_chart_period_counts_the_partial_periods_at_both_ends():
    # 2,000 whole minutes fit exactly; shifted by a second the range touches 2,001 minutes.
    assert chart_period(start_ms=T0, end_ms=T0 + 2_000 * MINUTE) == MINUTE
    assert chart_period(start_ms=T0 + SECOND, end_ms=T0 + SECOND + 2_000 * MINUTE) == 2 * MINUTE


def test_chart_period_refuses_a_range_longer_than_the_longest_period_allows():
    with pytest.raises(Invalid) as raised:
        chart_period(start_ms=T0, end_ms=T0 + (MAX_POINTS + 1) * PERIOD_LADDER_MS[-1])

    assert raised.value.field == "start"


# Chart data


def test_series_chart_returns_raw_samples_when_the_range_holds_no_more_than_the_cap(series):
    write_samples(series, [T0 - 1, T0, T0 + 1_500, T0 + DAY - 1, T0 + DAY], [9.0, 1.0, 2.5, 3.0, 9.0])

    data = series_chart(series_id=series.pk, start_ms=T0, end_ms=T0 + DAY)

    assert data.period_ms is None
    assert data.t == [T0, T0 + 1_500, T0 + DAY - 1]
    assert data.last == [1.0, 2.5, 3.0]
    assert data.min is None and data.max is None


def test_series_chart_returns_exactly_the_cap_as_raw_samples(series):
    write_samples(series, range(T0, T0 + MAX_POINTS * SECOND, SECOND), [1.0] * MAX_POINTS)

    data = series_chart(series_id=series.pk, start_ms=T0, end_ms=T0 + DAY)

    assert data.period_ms is None
    assert len(data.t) == MAX_POINTS


def test_series_chart_rolls_up_one_sample_past_the_cap(series):
    write_samples(series, range(T0, T0 + (MAX_POINTS + 1) * SECOND, SECOND), [1.0] * (MAX_POINTS + 1))

    data = series_chart(series_id=series.pk, start_ms=T0, end_ms=T0 + DAY)

    assert data.period_ms == MINUTE
    assert data.t == [T0 + i * MINUTE for i in range(34)]  # 2,001 s touch 34 minutes
    assert data.last == [1.0] * 34


def test_series_chart_rollups_hold_last_min_and_max_of_each_period(minutes):
    data = series_chart(series_id=minutes.pk, start_ms=T0, end_ms=T0 + 3 * DAY)

    # 4,320 minutes: two-minute periods would be 2,160, so five minutes: 864 periods.
    assert data.period_ms == 5 * MINUTE
    assert len(data.t) == 864
    assert data.t[:3] == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
    assert data.last[:3] == [4.0, 9.0, 14.0]
    assert data.min[:3] == [0.0, 5.0, 10.0]
    assert data.max[:3] == [4.0, 9.0, 14.0]
    assert (data.t[-1], data.min[-1], data.last[-1]) == (T0 + 3 * DAY - 5 * MINUTE, 4315.0, 4319.0)


def test_series_chart_never_returns_more_than_the_cap(series):
    # Ten-second samples over 30 days (259,200): far more than the cap, at any range.
    write_samples(series, range(T0, T0 + 30 * DAY, 10 * SECOND), [1.0] * (30 * 8_640))

    for span in (HOUR, 6 * HOUR, DAY, 7 * DAY, 30 * DAY):
        data = series_chart(series_id=series.pk, start_ms=T0 + 17, end_ms=T0 + 17 + span)
        assert 0 < len(data.t) <= MAX_POINTS, span


# The JSON endpoint


def test_chart_endpoint_answers_columns_for_a_series(admin_client, series):
    write_samples(series, [T0, T0 + MINUTE, T0 + 2 * MINUTE], [1.5, 2.5, 4.0])
    series.unit = "kWh"
    series.save()

    response = admin_client.get(chart_url(series), {"start": T0, "end": T0 + HOUR})

    assert response.status_code == 200
    assert response.json() == {
        "series": series.pk,
        "unit": "kWh",
        "start": T0,
        "end": T0 + HOUR,
        "period_ms": None,
        "points": 3,
        "max_points": MAX_POINTS,
        "t": [T0, T0 + MINUTE, T0 + 2 * MINUTE],
        "last": [1.5, 2.5, 4.0],
        "min": None,
        "max": None,
    }


def test_chart_endpoint_rolls_up_long_ranges(admin_client, minutes):
    response = admin_client.get(chart_url(minutes), {"start": T0, "end": T0 + 3 * DAY})

    body = response.json()
    assert body["period_ms"] == 5 * MINUTE
    assert body["points"] == len(body["t"]) == len(body["min"]) == len(body["max"]) == 864
    assert (body["t"][1], body["last"][1], body["min"][1], body["max"][1]) == (T0 + 5 * MINUTE, 9.0, 5.0, 9.0)


def test_chart_endpoint_defaults_to_the_last_day(admin_client, series):
    response = admin_client.get(chart_url(series))

    body = response.json()
    assert body["end"] - body["start"] == DAY
    assert abs(body["end"] - datetime.now(UTC).timestamp() * 1000) < 60_000


def test_chart_endpoint_reads_times_without_offset_in_the_organizations_time_zone(admin_client, series):
    series.organization.time_zone = "Europe/Zurich"
    series.organization.save()

    response = admin_client.get(
        chart_url(series), {"start": "2025-07-01T00:00", "end": "2025-07-01T12:00:00+00:00"}
    )

    body = response.json()
    assert body["start"] == int(datetime(2025, 6, 30, 22, tzinfo=UTC).timestamp() * 1000)  # CEST, +2 h
    assert body["end"] == int(datetime(2025, 7, 1, 12, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": "1.5"}, "start"),
        ({"end": "2025-13-01T00:00"}, "end"),
        ({"start": str(T0 + HOUR), "end": str(T0)}, "start"),
        ({"start": str(T0), "end": str(T0)}, "start"),
        ({"start": "99999999999999999999", "end": str(T0)}, "start"),
        ({"start": str(-(10**15)), "end": str(T0)}, "start"),
        ({"start": "0001-01-01T00:00", "end": "9999-12-31T00:00"}, "start"),
        ({"start": "0001-01-01T00:00:00+14:00", "end": str(T0)}, "start"),
    ],
)
def test_chart_endpoint_answers_400_with_the_field_for_a_bad_range(admin_client, series, params, field):
    response = admin_client.get(chart_url(series), params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["field"] == field
    assert response.json()["error"]


@pytest.mark.parametrize("object_id", ["999999", "not-a-number"])
def test_chart_endpoint_answers_404_for_an_unknown_object(admin_client, db, object_id):
    response = admin_client.get(f"/admin/timeseries/series/{object_id}/chart/")

    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


def test_chart_endpoint_answers_404_for_an_object_without_series(admin_client, org):
    signal = SignalFactory(load__device__organization=org, series=None)

    response = admin_client.get(chart_url(signal))

    assert response.status_code == 404
    assert response.json() == {"error": "this object has no series"}


def test_chart_endpoint_redirects_anonymous_and_non_staff_users_to_the_login(client, series):
    anonymous = client.get(chart_url(series))
    client.force_login(UserFactory(is_staff=False))
    non_staff = client.get(chart_url(series))

    for response in (anonymous, non_staff):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_chart_endpoint_denies_staff_without_the_view_permission(client, series):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(chart_url(series))

    assert response.status_code == 403
    assert response.json() == {"error": "you may not view this"}


def test_chart_endpoint_refuses_other_methods(admin_client, series):
    assert admin_client.post(chart_url(series)).status_code == 405


def test_chart_endpoint_of_signals_datastreams_and_points_charts_their_series(admin_client, org, series):
    write_samples(series, [T0, T0 + MINUTE], [7.0, 8.0])
    signal = SignalFactory(load__device__organization=org, series=series)
    stream = DataStreamFactory(device__organization=org, series=series)
    point = PointFactory(partition__organization=org, series=series)

    for obj in (signal, stream, point):
        body = admin_client.get(chart_url(obj), {"start": T0, "end": T0 + HOUR}).json()
        assert (body["series"], body["t"], body["last"]) == (series.pk, [T0, T0 + MINUTE], [7.0, 8.0]), obj


def test_chart_endpoint_finds_its_object_through_the_admins_queryset(admin_client, monkeypatch, org):
    # Whatever scoping the admin's get_queryset applies (organizations, later) applies to the chart.
    other = OrganizationFactory()
    mine = SignalFactory(load__device__organization=org)
    theirs = SignalFactory(load__device__organization=other)
    original = SignalAdmin.get_queryset
    monkeypatch.setattr(
        SignalAdmin, "get_queryset", lambda self, request: original(self, request).filter(organization=org)
    )

    assert admin_client.get(chart_url(mine)).status_code == 200
    assert admin_client.get(chart_url(theirs)).status_code == 404


def test_chart_endpoint_lets_a_facility_manager_chart_a_demo_signal(client, demo):
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])
    signal = Signal.objects.get(organization__slug="demo", uid=100)

    body = client.get(chart_url(signal), {"start": signal.series.last_ts + 1 - DAY}).json()

    assert body["period_ms"] is None
    assert body["points"] == 1440


def test_chart_endpoint_runs_a_fixed_number_of_queries(admin_client, org, minutes, django_assert_num_queries):
    signal = SignalFactory(load__device__organization=org, series=minutes)
    admin_client.get(chart_url(signal))  # loads the session once

    # session, user, signal, its series, the series' organization, a page of samples, (the rollups)
    with django_assert_num_queries(6):
        raw = admin_client.get(chart_url(signal), {"start": T0, "end": T0 + HOUR})
    with django_assert_num_queries(7):
        rolled = admin_client.get(chart_url(signal), {"start": T0, "end": T0 + 3 * DAY})

    assert raw.json()["points"] == 60
    assert rolled.json()["period_ms"] == 5 * MINUTE


# Change pages


@pytest.mark.parametrize("model", [Series, Signal, DataStream, Point])
def test_change_pages_of_objects_with_a_series_show_the_chart(admin_client, demo, model):
    obj = model.objects.filter(organization__slug="demo").exclude(
        **({} if model is Series else {"series": None})
    )
    obj = obj.order_by("pk").first()

    response = admin_client.get(change_url(obj))

    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-url="{chart_url(obj)}"' in content
    assert "vendor/uplot/uPlot.iife.min.js" in content
    assert "ems/chart.js" in content


def test_change_page_of_a_signal_without_series_shows_no_chart(admin_client, org):
    signal = SignalFactory(load__device__organization=org, series=None)

    response = admin_client.get(change_url(signal))

    assert response.status_code == 200
    assert "ems-chart" not in response.content.decode()


def test_series_change_page_shows_daily_and_monthly_totals(admin_client, series):
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    ms = int(midnight.timestamp() * 1000)
    write_samples(series, [ms - HOUR, ms + HOUR, ms + 2 * HOUR], [100.0, 110.0, 112.5])

    response = admin_client.get(change_url(series))

    totals = response.context["totals"]
    assert len(totals.days) == 31 and len(totals.months) == 12
    today = totals.days[-1]
    assert (today.label[:10], today.count, today.delta, today.last) == (
        f"{midnight:%Y-%m-%d}",
        2,
        12.5,
        112.5,
    )
    content = response.content.decode()
    assert 'id="daily-totals"' in content and 'id="monthly-totals"' in content


def test_registered_admins_with_a_series_all_have_a_chart_url():
    charted = {
        model for model, model_admin in admin.site._registry.items() if hasattr(model_admin, "chart_view")
    }

    assert charted == {Series, Signal, DataStream, Point}


# Daily and monthly totals across daylight-saving changes


def local_ms(tz: str, *args) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


@pytest.fixture
def zurich_counter(series):
    """An hourly energy counter in Europe/Zurich that counts one per hour, from 2025-02-28 local
    midnight to 2025-11-02 local midnight (spring forward on 30 March, fall back on 26 October)."""
    series.organization.time_zone = "Europe/Zurich"
    series.organization.save()
    start = local_ms("Europe/Zurich", 2025, 2, 28)
    end = local_ms("Europe/Zurich", 2025, 11, 2)
    ts = list(range(start, end, HOUR))
    write_samples(series, ts, [float(i) for i in range(len(ts))])
    return series


def test_daily_totals_have_23_and_25_hour_days_across_dst_in_zurich(zurich_counter):
    spring = calendar_totals(series_id=zurich_counter.pk, tz="Europe/Zurich", today=date(2025, 3, 31), days=3)
    autumn = calendar_totals(
        series_id=zurich_counter.pk, tz="Europe/Zurich", today=date(2025, 10, 27), days=3
    )

    assert [(d.label[:10], d.hours, d.count, d.delta) for d in spring.days] == [
        ("2025-03-29", 24, 24, 24.0),
        ("2025-03-30", 23, 23, 23.0),
        ("2025-03-31", 24, 24, 24.0),
    ]
    assert [(d.label[:10], d.hours, d.count, d.delta) for d in autumn.days] == [
        ("2025-10-25", 24, 24, 24.0),
        ("2025-10-26", 25, 25, 25.0),
        ("2025-10-27", 24, 24, 24.0),
    ]
    sunday = spring.days[1]
    assert sunday.start == datetime(2025, 3, 30, tzinfo=ZoneInfo("Europe/Zurich"))
    assert (sunday.min, sunday.max) == (sunday.last - 22, sunday.last)


def test_monthly_totals_follow_local_months_across_dst_in_zurich(zurich_counter):
    totals = calendar_totals(
        series_id=zurich_counter.pk, tz="Europe/Zurich", today=date(2025, 11, 1), months=10
    )

    figures = {m.label: (m.hours, m.count, m.delta) for m in totals.months}
    assert [m.label for m in totals.months] == [f"2025-{month:02d}" for month in range(2, 12)]
    # February holds only its last day; its delta is None: nothing was counted before it.
    assert figures["2025-02"] == (672, 24, None)
    assert figures["2025-03"] == (743, 743, 743.0)
    assert figures["2025-04"] == (720, 720, 720.0)
    assert figures["2025-10"] == (745, 745, 745.0)
    assert figures["2025-11"] == (720, 24, 24.0)


def test_calendar_totals_list_empty_days_and_count_a_gap_into_the_next_delta(series):
    write_samples(series, [T0 + HOUR, T0 + 2 * DAY + HOUR], [10.0, 25.0])

    totals = calendar_totals(series_id=series.pk, tz="UTC", today=date(2025, 1, 3), days=4, months=1)

    assert [(d.label[:10], d.count, d.last, d.delta) for d in totals.days] == [
        ("2024-12-31", 0, None, None),
        ("2025-01-01", 1, 10.0, None),
        ("2025-01-02", 0, None, None),
        ("2025-01-03", 1, 25.0, 15.0),
    ]


def test_calendar_totals_take_the_first_delta_from_the_sample_before_the_range(series):
    write_samples(series, [T0 - 40 * DAY, T0 + HOUR], [10.0, 12.0])

    totals = calendar_totals(series_id=series.pk, tz="UTC", today=date(2025, 1, 1), days=1, months=1)

    assert [d.delta for d in totals.days] == [2.0]


def test_calendar_totals_run_four_queries(series, django_assert_num_queries):
    write_samples(series, [T0 + HOUR], [1.0])

    with django_assert_num_queries(4):
        calendar_totals(series_id=series.pk, tz="Europe/Zurich", today=date(2025, 1, 1))


def test_calendar_totals_are_computed_in_sql_not_from_loaded_samples(zurich_counter):
    with CaptureQueriesContext(connection) as queries:
        calendar_totals(series_id=zurich_counter.pk, tz="Europe/Zurich", today=date(2025, 11, 1))

    assert all("LIMIT" in q["sql"] or "GROUP BY" in q["sql"] for q in queries.captured_queries)


def test_period_ladder_ascends_in_whole_seconds_up_to_a_week():
    assert all(period % SECOND == 0 for period in PERIOD_LADDER_MS)
    assert list(PERIOD_LADDER_MS) == sorted(PERIOD_LADDER_MS)
    assert timedelta(milliseconds=PERIOD_LADDER_MS[-1]) == timedelta(days=7)
