"""The series chart's long ranges ("year", "all"): local days of the series' zone, read from its
daily statistics, never from its samples; and the series' first and last sample for "all"."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.timeseries.charts import DAILY_FROM_MS, series_chart
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR = 3_600_000
DAY = 24 * HOUR
ZURICH = "Europe/Zurich"


def local_ms(*args) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(ZURICH)).timestamp() * 1000)


@pytest.fixture
def zurich_days(series):
    """A measurement in Europe/Zurich sampled every six hours over five local days around the
    spring change (30 March 2025 has 23 hours), then once on 1 June at noon.

    Day k (28 March = 0) holds the samples 4k..4k+3 with values 4k, 101 + 4k, 4k + 2, 4k + 3: its
    last value is 4k + 3, its minimum 4k, its maximum 101 + 4k."""
    series.organization.time_zone = ZURICH
    series.organization.save()
    start = local_ms(2025, 3, 28)
    ts = [start + i * 6 * HOUR for i in range(20)]
    values = [100.0 + i if i % 4 == 1 else float(i) for i in range(20)]
    ts.append(local_ms(2025, 6, 1, 12))
    values.append(7.0)
    write(SampleBatch([series.pk] * len(ts), ts, values), Policy.OVERWRITE)
    return series


EXPECTED_DAYS = [
    (local_ms(2025, 3, 28), 3.0, 0.0, 101.0),
    (local_ms(2025, 3, 29), 7.0, 4.0, 105.0),
    (local_ms(2025, 3, 30), 11.0, 8.0, 109.0),
    (local_ms(2025, 3, 31), 15.0, 12.0, 113.0),
    (local_ms(2025, 4, 1), 19.0, 16.0, 117.0),
    (local_ms(2025, 6, 1), 7.0, 7.0, 7.0),
]


def columns(data) -> list[tuple]:
    return list(zip(data.t, data.last, data.min, data.max, strict=True))


def test_a_range_longer_than_a_quarter_is_drawn_per_local_day(zurich_days):
    # From noon on New Year's day to a minute past midnight on 1 July: widened to whole local days.
    data = series_chart(
        series_id=zurich_days.pk, start_ms=local_ms(2025, 1, 1, 12), end_ms=local_ms(2025, 7, 1, 0, 1)
    )

    assert data.bucket == "day"
    assert data.period_ms == DAY
    assert (data.start_ms, data.end_ms) == (local_ms(2025, 1, 1), local_ms(2025, 7, 2))
    assert columns(data) == EXPECTED_DAYS
    assert data.t[3] - data.t[2] == 23 * HOUR  # the spring change
    assert (data.first_ts, data.last_ts) == (local_ms(2025, 3, 28), local_ms(2025, 6, 1, 12))


def test_the_days_come_from_the_daily_statistics_not_the_samples(zurich_days):
    with CaptureQueriesContext(connection) as queries:
        series_chart(series_id=zurich_days.pk, start_ms=local_ms(2025, 1, 1), end_ms=local_ms(2026, 1, 1))

    sample_reads = [q["sql"] for q in queries.captured_queries if "timeseries_sample" in q["sql"]]
    assert len(sample_reads) == 1 and "MIN(ts)" in sample_reads[0]  # the first and last sample only
    assert sum("timeseries_stats_day" in q["sql"] for q in queries.captured_queries) == 1


def test_while_the_statistics_are_recomputed_the_days_are_rolled_up_from_the_samples(zurich_days):
    Series.objects.filter(pk=zurich_days.pk).update(statistics_pending=True)

    with CaptureQueriesContext(connection) as queries:
        data = series_chart(
            series_id=zurich_days.pk, start_ms=local_ms(2025, 1, 1), end_ms=local_ms(2026, 1, 1)
        )

    assert columns(data) == EXPECTED_DAYS
    assert not any("timeseries_stats_day" in q["sql"] for q in queries.captured_queries)


def test_a_quarter_or_less_keeps_the_periods_of_the_ladder(zurich_days):
    start = local_ms(2025, 3, 1)
    data = series_chart(series_id=zurich_days.pk, start_ms=start, end_ms=start + DAILY_FROM_MS)

    assert data.bucket is None
    assert data.period_ms is None  # 21 samples: raw


def test_the_chart_endpoint_answers_a_year_by_day_and_the_series_extent(client, zurich_days):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:timeseries_series_chart", args=[zurich_days.pk])

    body = client.get(url, {"start": "2025-01-01T00:00", "end": "2026-01-01T00:00"}).json()

    assert body["bucket"] == "day"
    assert body["period_ms"] == DAY
    assert body["points"] == 6
    assert list(zip(body["t"], body["last"], body["min"], body["max"], strict=True)) == EXPECTED_DAYS
    assert (body["first_ts"], body["last_ts"]) == (local_ms(2025, 3, 28), local_ms(2025, 6, 1, 12))
    assert (body["start"], body["end"]) == (local_ms(2025, 1, 1), local_ms(2026, 1, 1))


def test_the_series_page_is_titled_and_headed_by_the_series_name_with_its_meter_code(client, series):
    series.name, series.meter_code = "Boiler gas", "gas-7"
    series.save()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get(reverse("admin:timeseries_series_change", args=[series.pk])).content.decode()

    assert "<title>Boiler gas | Change series |" in html
    assert '<h2>Boiler gas <span class="ems-subtitle-code">(gas-7)</span></h2>' in html
    assert "<h2>gas-7</h2>" not in html  # Django's subtitle: the meter code (__str__)
