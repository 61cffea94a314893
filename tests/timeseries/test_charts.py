"""The admin's charts: period choice and point cap, the JSON endpoint of every admin with a series,
and daily / monthly totals across daylight-saving changes (run on SQLite and on PostgreSQL)."""

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.core.exceptions import Invalid
from apps.core.time import now_ms
from apps.inventory.admin import SignalAdmin
from apps.inventory.models import DataStream, Point, Signal
from apps.timeseries.charts import MAX_POINTS, PERIOD_LADDER_MS, chart_period, series_chart
from apps.timeseries.models import Series
from tests.factories import (
    DataStreamFactory,
    OrganizationFactory,
    PointFactory,
    SignalFactory,
    UserFactory,
)
from tests.timeseries.helpers import write_samples

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
        "bucket": None,
        "first_ts": T0,
        "last_ts": T0 + 2 * MINUTE,
        "markers": [],  # the series' alarms opening and clearing: added by apps/console/admin.py
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
    assert abs(body["end"] - now_ms()) < 60_000


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

    # session, user, signal, its series, the series' organization, its first and last sample, a
    # page of samples, (the rollups)
    with django_assert_num_queries(7):
        raw = admin_client.get(chart_url(signal), {"start": T0, "end": T0 + HOUR})
    with django_assert_num_queries(8):
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
    series.kind = "counter"
    series.save()
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    ms = int(midnight.timestamp() * 1000)
    write_samples(series, [ms - HOUR, ms + HOUR, ms + 2 * HOUR], [100.0, 110.0, 112.5])

    response = admin_client.get(change_url(series))

    totals = response.context["totals"]
    assert (totals.month, totals.year) == (midnight.date().replace(day=1), midnight.year)
    assert len(totals.days) == calendar.monthrange(now.year, now.month)[1] and len(totals.months) == 12
    today = totals.days[now.day - 1]
    assert (today.label[:10], today.count, today.total, today.resets, today.steps_back) == (
        f"{midnight:%Y-%m-%d}",
        2,
        12.5,
        0,
        0,
    )
    content = response.content.decode()
    assert 'id="daily-totals"' in content and 'id="monthly-totals"' in content
    assert '<th scope="col">Resets</th>' in content


def test_the_series_page_shows_any_month_and_year_of_a_past_import(admin_client, series):
    series.kind = "interval"
    series.save()
    write_samples(series, list(range(T0 - 366 * DAY, T0, HOUR)), [1.0] * 366 * 24)  # all of 2024

    response = admin_client.get(change_url(series) + "?month=2024-02&year=2024")

    totals = response.context["totals"]
    assert [(d.label[:10], d.total) for d in totals.days[:2]] == [("2024-02-01", 24.0), ("2024-02-02", 24.0)]
    assert len(totals.days) == 29
    assert [m.total for m in totals.months] == [
        24.0 * n for n in (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    ]
    assert "Resets" not in response.content.decode()
    malformed = admin_client.get(change_url(series) + "?month=2024-13&year=twenty")
    assert malformed.status_code == 200
    assert malformed.context["totals"].year == datetime.now(UTC).year


def test_registered_admins_with_a_series_all_have_a_chart_url():
    charted = {
        model for model, model_admin in admin.site._registry.items() if hasattr(model_admin, "chart_view")
    }

    assert charted == {Series, Signal, DataStream, Point}


def test_period_ladder_ascends_in_whole_seconds_up_to_a_week():
    assert all(period % SECOND == 0 for period in PERIOD_LADDER_MS)
    assert list(PERIOD_LADDER_MS) == sorted(PERIOD_LADDER_MS)
    assert timedelta(milliseconds=PERIOD_LADDER_MS[-1]) == timedelta(days=7)
