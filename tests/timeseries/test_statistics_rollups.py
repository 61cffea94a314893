"""Rollups from the quarter-hour statistics equal the rollups of the samples (stats/rollups.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.timeseries import selectors
from apps.timeseries.charts import series_chart
from apps.timeseries.rollup import rollups
from apps.timeseries.stats.rollups import rollups_from_statistics, statistics_serve
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory

pytestmark = pytest.mark.django_db

Q = 900_000
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z


def put(series, ts, values):
    write(SampleBatch([series.pk] * len(ts), ts, values), Policy.OVERWRITE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    samples=st.dictionaries(st.integers(0, 8 * HOUR), st.integers(-1000, 1000), min_size=0, max_size=60),
    start=st.integers(-HOUR, 8 * HOUR),
    length=st.integers(2 * Q + 1, 9 * HOUR),
    period=st.sampled_from([Q, 2 * Q, HOUR, 3 * HOUR]),
    offset=st.integers(0, 12),
    limit=st.one_of(st.none(), st.integers(1, 6)),
)
def test_the_statistics_give_the_samples_records(db, samples, start, length, period, offset, limit):
    series = SeriesFactory()
    ts = sorted(samples)
    if ts:
        put(series, [T0 + t for t in ts], [float(samples[t]) for t in ts])
    window = {"start_ms": T0 + start, "end_ms": T0 + start + length, "period_ms": period}

    expected = rollups(series_ids=[series.pk], offset=offset, limit=limit, **window)[series.pk]
    got = rollups_from_statistics(series_id=series.pk, offset=offset, limit=limit, **window)

    assert got == expected
    series.delete()


def test_the_selector_serves_whole_quarter_hour_periods_from_the_statistics(django_assert_num_queries):
    series = SeriesFactory()
    put(series, [T0 + i * 60_000 for i in range(600)], [float(i % 37) for i in range(600)])
    series.refresh_from_db()
    window = {"start_ms": T0, "end_ms": T0 + 10 * HOUR, "period_ms": HOUR, "offset": 2, "limit": 3}

    with django_assert_num_queries(2):  # the first quarter-hour, the page
        page = selectors.rollup_page(series=[series], **window)

    assert page[series.pk] == rollups(series_ids=[series.pk], **window)[series.pk]
    assert [r.period_end_ms for r in page[series.pk]] == [T0 + 3 * HOUR, T0 + 4 * HOUR, T0 + 5 * HOUR]


@pytest.mark.parametrize(
    ("kind", "interval_end", "pending", "period", "length", "served"),
    [
        ("counter", False, False, HOUR, 3 * HOUR, True),
        ("measurement", False, False, 60_000, 3 * HOUR, False),  # not whole quarter-hours
        ("interval", True, False, HOUR, 3 * HOUR, False),  # counted a quarter-hour early
        ("interval", False, False, HOUR, 3 * HOUR, True),
        ("counter", False, True, HOUR, 3 * HOUR, False),  # being recomputed
        ("counter", False, False, Q, 2 * Q, False),  # too short to gain
    ],
)
def test_which_windows_the_statistics_serve(kind, interval_end, pending, period, length, served):
    assert (
        statistics_serve(
            kind=kind,
            interval_end=interval_end,
            pending=pending,
            start_ms=T0,
            end_ms=T0 + length,
            period_ms=period,
        )
        is served
    )


def test_a_long_chart_is_drawn_from_the_statistics():
    series = SeriesFactory()
    put(series, [T0 + i * 60_000 for i in range(3_000)], [float(i % 101) for i in range(3_000)])
    window = {"start_ms": T0 - 5 * 86_400_000, "end_ms": T0 + 25 * 86_400_000}

    with CaptureQueriesContext(connection) as queries:
        chart = series_chart(series_id=series.pk, **window)

    assert chart.period_ms == 30 * 60_000
    assert any("timeseries_stats_quarter" in q["sql"] for q in queries.captured_queries)
    records = rollups(series_ids=[series.pk], period_ms=chart.period_ms, **window)[series.pk]
    assert chart.t == [r.period_end_ms - chart.period_ms for r in records]
    assert (chart.last, chart.min, chart.max) == (
        [r.value for r in records],
        [r.min for r in records],
        [r.max for r in records],
    )


def test_an_interval_series_whose_end_labels_were_not_recomputed_yet_is_read_from_the_samples():
    assert not statistics_serve(
        kind="interval",
        interval_end=False,
        pending=False,
        start_ms=T0,
        end_ms=T0 + 3 * HOUR,
        period_ms=HOUR,
        recorded_interval_end=True,
    )
