"""The store's reads, against hand-computed expectations (run on SQLite and on PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from apps.timeseries import query, rollup
from apps.timeseries.query import Bucket, Rollup, SampleRow
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory

MINUTE = 60_000
HOUR = 3_600_000

# Periods of one minute: [60 000, 120 000) holds three samples, [120 000, 180 000) one,
# [180 000, 240 000) none, [240 000, 300 000) two.
METER = [(60_000, 10.0), (61_500, 14.0), (119_999, 12.5), (120_000, 13.0), (240_001, 20.0), (250_000, 11.0)]
METER_ROLLUPS = [
    Rollup(period_end_ms=120_000, last_ts=119_999, value=12.5, delta=0.0, min=10.0, max=14.0),
    Rollup(period_end_ms=180_000, last_ts=120_000, value=13.0, delta=0.5, min=13.0, max=13.0),
    Rollup(period_end_ms=300_000, last_ts=250_000, value=11.0, delta=-2.0, min=11.0, max=20.0),
]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_ms(iso: str) -> int:
    """A UTC wall time as exact epoch milliseconds."""
    return (datetime.fromisoformat(iso).replace(tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


@pytest.fixture
def meter(series, add_samples):
    add_samples(series, METER)
    return series


# Ranges and paging


def test_samples_page_includes_start_excludes_end_to_the_millisecond(series, other_series, add_samples):
    # given
    add_samples(series, [(999, 0.5), (1000, 1.0, 0), (1001, 2.0), (1002, 3.0, 192), (2000, 4.0)])
    add_samples(other_series, [(1500, 99.0)])

    # when
    page = query.samples_page(series_id=series.pk, start_ms=1000, end_ms=2000, limit=10)

    # then
    assert page == [SampleRow(1000, 1.0, 0), SampleRow(1001, 2.0, None), SampleRow(1002, 3.0, 192)]


def test_samples_page_pages_oldest_first_and_count_gives_the_total(series, add_samples):
    # given
    add_samples(series, [(ts, float(ts)) for ts in range(1000, 1010)])

    # when
    first = query.samples_page(series_id=series.pk, start_ms=1000, end_ms=1010, offset=0, limit=4)
    last = query.samples_page(series_id=series.pk, start_ms=1000, end_ms=1010, offset=8, limit=4)
    total = query.samples_count(series_id=series.pk, start_ms=1000, end_ms=1010)

    # then
    assert [row.ts for row in first] == [1000, 1001, 1002, 1003]
    assert [row.ts for row in last] == [1008, 1009]
    assert total == 10


def test_samples_page_offsets_count_within_the_window_and_the_series_only(series, other_series, add_samples):
    # given: samples on both sides of the window, and another series' inside it
    add_samples(series, [(ts, float(ts)) for ts in range(990, 1020)])
    add_samples(other_series, [(ts, -1.0) for ts in range(1000, 1010)])

    # when
    middle = query.samples_page(series_id=series.pk, start_ms=1000, end_ms=1010, offset=3, limit=3)
    past_the_end = query.samples_page(series_id=series.pk, start_ms=1000, end_ms=1010, offset=10, limit=3)

    # then
    assert middle == [
        SampleRow(1003, 1003.0, None),
        SampleRow(1004, 1004.0, None),
        SampleRow(1005, 1005.0, None),
    ]
    assert past_the_end == []


def test_samples_page_given_the_total_counts_from_the_nearer_end_to_the_same_pages(
    series, other_series, add_samples
):
    # given: ten samples in the window, others around it and in another series
    add_samples(series, [(ts, float(ts)) for ts in range(990, 1020)])
    add_samples(other_series, [(ts, -1.0) for ts in range(1000, 1010)])
    window = {"series_id": series.pk, "start_ms": 1000, "end_ms": 1010}
    total = query.samples_count(**window)

    # when
    pages = {
        offset: query.samples_page(**window, offset=offset, limit=3, total=total) for offset in range(12)
    }

    # then: every offset, near the start or the end, gives the rows OFFSET would
    assert total == 10
    for offset, page in pages.items():
        assert [row.ts for row in page] == list(range(1000, 1010))[offset : offset + 3], offset
        assert page == query.samples_page(**window, offset=offset, limit=3)


def test_samples_page_rows_unpack_as_tuples(series, add_samples):
    # given
    add_samples(series, [(5, 1.25, 7)])

    # when
    [(ts, value, quality)] = query.samples_page(series_id=series.pk, start_ms=0, end_ms=10, limit=1)

    # then
    assert (ts, value, quality) == (5, 1.25, 7)


def test_samples_count_is_zero_for_an_empty_range(series, add_samples):
    # given
    add_samples(series, [(1000, 1.0)])

    # when
    total = query.samples_count(series_id=series.pk, start_ms=1001, end_ms=5000)

    # then
    assert total == 0


def test_samples_after_walks_a_range_by_keyset_without_gaps_or_repeats(series, other_series, add_samples):
    # given
    add_samples(series, [(999, 0.0), (1000, 1.0), (1001, 2.0), (1002, 3.0), (2000, 4.0), (2001, 5.0)])
    add_samples(other_series, [(1001, 99.0)])

    # when
    pages, after = [], None
    while True:
        page = query.samples_after(series_id=series.pk, start_ms=1000, end_ms=2001, after_ts=after, limit=2)
        if not page:
            break
        pages.append([row.ts for row in page])
        after = page[-1].ts

    # then
    assert pages == [[1000, 1001], [1002, 2000]]


def test_samples_after_without_bounds_reads_from_the_oldest_sample(series, add_samples):
    # given
    add_samples(series, [(-5, 1.0), (0, 2.0), (7, 3.0)])

    # when
    everything = query.samples_after(series_id=series.pk, limit=10)
    after_zero = query.samples_after(series_id=series.pk, after_ts=0, limit=10)

    # then
    assert [row.ts for row in everything] == [-5, 0, 7]
    assert after_zero == [SampleRow(7, 3.0, None)]


# Rollups


def test_rollups_give_last_value_delta_min_max_per_period_and_skip_empty_periods(meter):
    # when
    records = rollup.rollups(series_ids=[meter.pk], start_ms=60_000, end_ms=300_000, period_ms=MINUTE)

    # then
    assert records == {meter.pk: METER_ROLLUPS}


def test_rollups_align_periods_to_the_epoch_whatever_the_start(meter):
    # when
    records = rollup.rollups(series_ids=[meter.pk], start_ms=61_000, end_ms=250_000, period_ms=MINUTE)

    # then: the first period is still [60 000, 120 000), holding only the samples from the start on
    assert records[meter.pk] == [
        Rollup(period_end_ms=120_000, last_ts=119_999, value=12.5, delta=0.0, min=12.5, max=14.0),
        Rollup(period_end_ms=180_000, last_ts=120_000, value=13.0, delta=0.5, min=13.0, max=13.0),
        Rollup(period_end_ms=300_000, last_ts=240_001, value=20.0, delta=7.0, min=20.0, max=20.0),
    ]


def test_rollups_include_a_sample_at_start_and_exclude_one_at_end(meter):
    # when
    records = rollup.rollups(series_ids=[meter.pk], start_ms=61_500, end_ms=120_000, period_ms=MINUTE)

    # then
    assert records[meter.pk] == [
        Rollup(period_end_ms=120_000, last_ts=119_999, value=12.5, delta=0.0, min=12.5, max=14.0),
    ]


def test_rollups_split_periods_at_the_exact_millisecond(meter):
    # when: 119 999 is the last millisecond of one minute, 120 000 the first of the next
    records = rollup.rollups(series_ids=[meter.pk], start_ms=119_999, end_ms=120_001, period_ms=MINUTE)

    # then
    assert [(r.period_end_ms, r.last_ts) for r in records[meter.pk]] == [
        (120_000, 119_999),
        (180_000, 120_000),
    ]


def test_rollups_floor_negative_times_into_the_period_before_zero(series, add_samples):
    # given: -1 belongs to [-60 000, 0), not to [0, 60 000)
    add_samples(series, [(-60_001, 1.0), (-60_000, 2.0), (-1, 4.0), (0, 8.0)])

    # when
    records = rollup.rollups(series_ids=[series.pk], start_ms=-HOUR, end_ms=HOUR, period_ms=MINUTE)

    # then
    assert records[series.pk] == [
        Rollup(period_end_ms=-60_000, last_ts=-60_001, value=1.0, delta=0.0, min=1.0, max=1.0),
        Rollup(period_end_ms=0, last_ts=-1, value=4.0, delta=3.0, min=2.0, max=4.0),
        Rollup(period_end_ms=60_000, last_ts=0, value=8.0, delta=4.0, min=8.0, max=8.0),
    ]


def test_rollups_paging_does_not_change_delta(meter):
    # when
    pages = [
        rollup.rollups(
            series_ids=[meter.pk], start_ms=0, end_ms=HOUR, period_ms=MINUTE, offset=offset, limit=2
        )[meter.pk]
        for offset in (0, 2, 4)
    ]

    # then: the first record of the second page keeps its delta against the first page's last
    assert pages == [METER_ROLLUPS[:2], METER_ROLLUPS[2:], []]
    assert pages[1][0].delta == -2.0


def test_rollups_of_several_series_page_each_series_in_one_query(
    meter, other_series, add_samples, django_assert_num_queries
):
    # given
    add_samples(other_series, [(90_000, 1.0), (150_000, 3.0), (210_000, 2.0)])
    silent = SeriesFactory(organization=meter.organization)

    # when
    with django_assert_num_queries(1):
        records = rollup.rollups(
            series_ids=[meter.pk, other_series.pk, silent.pk],
            start_ms=0,
            end_ms=HOUR,
            period_ms=MINUTE,
            offset=1,
            limit=1,
        )

    # then
    assert records == {
        meter.pk: [METER_ROLLUPS[1]],
        other_series.pk: [
            Rollup(period_end_ms=180_000, last_ts=150_000, value=3.0, delta=2.0, min=3.0, max=3.0)
        ],
        silent.pk: [],
    }


def test_rollups_with_a_period_of_two_minutes_regroup_the_same_samples(meter):
    # when
    records = rollup.rollups(series_ids=[meter.pk], start_ms=0, end_ms=HOUR, period_ms=2 * MINUTE)

    # then
    assert records[meter.pk] == [
        Rollup(period_end_ms=120_000, last_ts=119_999, value=12.5, delta=0.0, min=10.0, max=14.0),
        Rollup(period_end_ms=240_000, last_ts=120_000, value=13.0, delta=0.5, min=13.0, max=13.0),
        Rollup(period_end_ms=360_000, last_ts=250_000, value=11.0, delta=-2.0, min=11.0, max=20.0),
    ]


def test_rollups_refuse_a_period_that_is_not_positive(meter):
    # when / then
    with pytest.raises(ValueError, match="period_ms"):
        rollup.rollups(series_ids=[meter.pk], start_ms=0, end_ms=HOUR, period_ms=0)


def test_rollups_latest_gives_the_newest_period_with_delta_to_the_previous_period_with_samples(
    meter, other_series, add_samples, django_assert_num_queries
):
    # given
    add_samples(other_series, [(90_000, 1.0), (100_000, 3.0)])
    silent = SeriesFactory(organization=meter.organization)

    # when
    with django_assert_num_queries(1):
        records = query.rollups_latest(series_ids=[meter.pk, other_series.pk, silent.pk], period_ms=MINUTE)

    # then: the meter's previous period with samples is [120 000, 180 000), the empty one is skipped;
    # the other series has no earlier period, so its delta is 0; a series without samples has none
    assert records == {
        meter.pk: METER_ROLLUPS[2],
        other_series.pk: Rollup(
            period_end_ms=120_000, last_ts=100_000, value=3.0, delta=0.0, min=1.0, max=3.0
        ),
    }


def test_rollups_latest_matches_the_last_record_of_rollups(meter):
    # when
    newest = query.rollups_latest(series_ids=[meter.pk], period_ms=2 * MINUTE)[meter.pk]
    ranged = rollup.rollups(series_ids=[meter.pk], start_ms=0, end_ms=HOUR, period_ms=2 * MINUTE)[meter.pk]

    # then
    assert newest == ranged[-1]


# Calendar buckets


def test_local_day_edges_make_the_spring_forward_day_23_hours_in_zurich():
    # when
    edges = query.local_day_edges(tz="Europe/Zurich", start=date(2024, 3, 30), end=date(2024, 4, 2))

    # then: local midnights, CET (+01:00) before 31 March 02:00, CEST (+02:00) after
    assert edges == [
        utc_ms("2024-03-29T23:00:00"),
        utc_ms("2024-03-30T23:00:00"),
        utc_ms("2024-03-31T22:00:00"),
        utc_ms("2024-04-01T22:00:00"),
    ]
    assert [(b - a) // HOUR for a, b in pairwise(edges)] == [24, 23, 24]


def test_local_day_edges_make_the_fall_back_day_25_hours_in_zurich():
    # when
    edges = query.local_day_edges(tz="Europe/Zurich", start=date(2024, 10, 26), end=date(2024, 10, 29))

    # then
    assert edges == [
        utc_ms("2024-10-25T22:00:00"),
        utc_ms("2024-10-26T22:00:00"),
        utc_ms("2024-10-27T23:00:00"),
        utc_ms("2024-10-28T23:00:00"),
    ]
    assert [(b - a) // HOUR for a, b in pairwise(edges)] == [24, 25, 24]


def test_local_day_edges_are_empty_when_end_is_not_after_start():
    # when
    edges = query.local_day_edges(tz="Europe/Zurich", start=date(2024, 3, 30), end=date(2024, 3, 30))

    # then
    assert edges == []


def test_local_month_edges_cover_every_month_touched_by_the_days_across_dst():
    # when: days 15 March up to (not including) 10 April
    edges = query.local_month_edges(tz="Europe/Zurich", start=date(2024, 3, 15), end=date(2024, 4, 10))

    # then: March is 31 days less one hour, April 30 days
    assert edges == [
        utc_ms("2024-02-29T23:00:00"),
        utc_ms("2024-03-31T22:00:00"),
        utc_ms("2024-04-30T22:00:00"),
    ]
    assert edges[1] - edges[0] == 31 * 24 * HOUR - HOUR


def test_local_month_edges_make_october_one_hour_longer_and_cross_the_year():
    # when
    edges = query.local_month_edges(tz="Europe/Zurich", start=date(2024, 10, 1), end=date(2025, 1, 1))

    # then
    assert edges == [
        utc_ms("2024-09-30T22:00:00"),
        utc_ms("2024-10-31T23:00:00"),
        utc_ms("2024-11-30T23:00:00"),
        utc_ms("2024-12-31T23:00:00"),
    ]
    assert edges[1] - edges[0] == 31 * 24 * HOUR + HOUR


def test_rollups_by_edges_put_samples_in_the_local_day_around_spring_forward(series, add_samples):
    # given: samples one millisecond either side of the local midnights around 31 March
    add_samples(
        series,
        [
            (utc_ms("2024-03-30T22:59:59.999"), 1.0),
            (utc_ms("2024-03-30T23:00:00"), 2.0),
            (utc_ms("2024-03-31T12:00:00"), 9.0),
            (utc_ms("2024-03-31T21:59:59.999"), 5.0),
            (utc_ms("2024-03-31T22:00:00"), 7.0),
        ],
    )
    edges = query.local_day_edges(tz="Europe/Zurich", start=date(2024, 3, 30), end=date(2024, 4, 2))

    # when
    buckets = query.rollups_by_edges(series_id=series.pk, edges_ms=edges)

    # then
    assert buckets == [
        Bucket(edges[0], edges[1], utc_ms("2024-03-30T22:59:59.999"), value=1.0, min=1.0, max=1.0, count=1),
        Bucket(edges[1], edges[2], utc_ms("2024-03-31T21:59:59.999"), value=5.0, min=2.0, max=9.0, count=3),
        Bucket(edges[2], edges[3], utc_ms("2024-03-31T22:00:00"), value=7.0, min=7.0, max=7.0, count=1),
    ]


def test_rollups_by_edges_keep_25_hours_of_fall_back_in_one_day_and_omit_empty_days(series, add_samples):
    # given: 00:30 CEST and 23:30 CET on 27 October, 25 hours apart less one; nothing on the 26th
    add_samples(
        series,
        [
            (utc_ms("2024-10-26T22:30:00"), 3.0),
            (utc_ms("2024-10-27T22:30:00"), 1.0),
            (utc_ms("2024-10-27T23:00:00"), 6.0),
        ],
    )
    edges = query.local_day_edges(tz="Europe/Zurich", start=date(2024, 10, 26), end=date(2024, 10, 29))

    # when
    buckets = query.rollups_by_edges(series_id=series.pk, edges_ms=edges)

    # then
    assert buckets == [
        Bucket(edges[1], edges[2], utc_ms("2024-10-27T22:30:00"), value=1.0, min=1.0, max=3.0, count=2),
        Bucket(edges[2], edges[3], utc_ms("2024-10-27T23:00:00"), value=6.0, min=6.0, max=6.0, count=1),
    ]


def test_rollups_by_edges_refuse_edges_that_do_not_ascend(series):
    # when / then
    with pytest.raises(ValueError, match="ascending"):
        query.rollups_by_edges(series_id=series.pk, edges_ms=[0, HOUR, HOUR])


def test_rollups_by_edges_of_a_single_edge_are_empty(series, django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        buckets = query.rollups_by_edges(series_id=series.pk, edges_ms=[0])

    # then
    assert buckets == []


def test_utc_ms_helper_is_exact_to_the_millisecond():
    # The expectations above lean on this helper; pin it against a known instant.
    assert utc_ms("2017-05-15T20:26:40.123") == 1_494_880_000_123
    assert utc_ms("1970-01-01T01:00:00") == HOUR


def test_samples_latest_reads_the_newest_first_however_sparse_the_history(series):
    ts = [-5_000, 1_000, 1_000_000_000_000, 1_700_000_000_000]
    write(SampleBatch([series.pk] * 4, ts, [1.0, 2.0, 3.0, 4.0]), Policy.OVERWRITE)

    assert [row.ts for row in query.samples_latest(series_id=series.pk, limit=3)] == ts[::-1][:3]
    assert query.samples_latest(series_id=series.pk, limit=10)[-1] == (-5_000, 1.0, None)
