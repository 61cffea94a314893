"""Rollup pages (apps/timeseries/rollup.py) and their cached positions (selectors.rollup_page),
against the whole window's records: a page is always the same slice of them, however it was
found (counted from the start, resumed where an earlier page ended, or read from the cache)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.timeseries import rollup, selectors
from apps.timeseries.models import Series
from apps.timeseries.query import Rollup
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory

MINUTE = 60_000

# Minutes -3 .. 12 around zero: several samples in some minutes, none in others (3, 7, 8, 9),
# negative times, and a sample on a minute's last millisecond.
SAMPLES = [
    (-150_000, 1.0),
    (-149_000, 5.0),
    (-61_000, 2.0),
    (-1, 4.0),
    (0, 8.0),
    (30_000, 6.0),
    (59_999, 7.0),
    (60_000, 3.0),
    (150_000, 9.0),
    (240_000, 2.5),
    (299_999, 3.5),
    (300_000, 1.5),
    (360_000, 0.5),
    (600_000, 10.0),
    (601_000, 12.0),
    (660_000, 11.0),
    (720_000, 13.0),
]
WINDOW = {"start_ms": -120_000, "end_ms": 720_000, "period_ms": MINUTE}


@pytest.fixture
def meter(series, add_samples):
    add_samples(series, SAMPLES)
    return series


def whole(series_id: int, **window) -> list[Rollup]:
    return rollup.rollups(series_ids=[series_id], **(window or WINDOW))[series_id]


def test_the_window_starts_mid_period_and_skips_empty_periods(meter):
    # then: the window starts inside minute -2 (its sample at -150 000 is left out), and ends
    # before the sample at 720 000
    assert whole(meter.pk) == [
        Rollup(period_end_ms=-60_000, last_ts=-61_000, value=2.0, delta=0.0, min=2.0, max=2.0),
        Rollup(period_end_ms=0, last_ts=-1, value=4.0, delta=2.0, min=4.0, max=4.0),
        Rollup(period_end_ms=60_000, last_ts=59_999, value=7.0, delta=3.0, min=6.0, max=8.0),
        Rollup(period_end_ms=120_000, last_ts=60_000, value=3.0, delta=-4.0, min=3.0, max=3.0),
        Rollup(period_end_ms=180_000, last_ts=150_000, value=9.0, delta=6.0, min=9.0, max=9.0),
        Rollup(period_end_ms=300_000, last_ts=299_999, value=3.5, delta=-5.5, min=2.5, max=3.5),
        Rollup(period_end_ms=360_000, last_ts=300_000, value=1.5, delta=-2.0, min=1.5, max=1.5),
        Rollup(period_end_ms=420_000, last_ts=360_000, value=0.5, delta=-1.0, min=0.5, max=0.5),
        Rollup(period_end_ms=660_000, last_ts=601_000, value=12.0, delta=11.5, min=10.0, max=12.0),
        Rollup(period_end_ms=720_000, last_ts=660_000, value=11.0, delta=-1.0, min=11.0, max=11.0),
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 7, 10, 11])
def test_every_page_is_its_slice_of_the_window_whether_counted_or_resumed(meter, limit):
    # given
    records = whole(meter.pk)

    # when: every page counted from the window's start, and the same pages walked, each resumed
    # from where the page before it said the next one starts
    counted = [
        rollup.rollups(series_ids=[meter.pk], offset=offset, limit=limit, **WINDOW)[meter.pk]
        for offset in range(0, len(records) + limit, limit)
    ]
    walked, resume = [], {}
    for offset in range(0, len(records) + limit, limit):
        page = rollup.rollup_pages(series_ids=[meter.pk], offset=offset, limit=limit, resume=resume, **WINDOW)
        walked.append(page[meter.pk].records)
        resume = {meter.pk: page[meter.pk].next_ts} if page[meter.pk].next_ts is not None else {}

    # then
    expected = [records[offset : offset + limit] for offset in range(0, len(records) + limit, limit)]
    assert counted == expected
    assert walked == expected


def test_a_page_says_where_it_starts_and_where_the_next_page_starts(meter):
    # when
    pages = [
        rollup.rollup_pages(series_ids=[meter.pk], offset=offset, limit=4, **WINDOW)[meter.pk]
        for offset in (0, 4, 8, 12)
    ]

    # then: each the first sample of a record in the window (-120 000 leaves -150 000 out)
    assert [(page.first_ts, page.next_ts) for page in pages] == [
        (-61_000, 150_000),
        (150_000, 600_000),
        (600_000, None),
        (None, None),
    ]


def test_series_resumed_and_counted_in_one_call_each_get_their_page(meter, other_series, add_samples):
    # given: the other series has a record in every minute from 0 to 9
    add_samples(other_series, [(minute * MINUTE + 500, float(minute)) for minute in range(10)])
    others = whole(other_series.pk)

    # when: the meter resumes its third page from what its second page said; the other is counted
    second = rollup.rollup_pages(series_ids=[meter.pk], offset=3, limit=3, **WINDOW)[meter.pk]
    pages = rollup.rollup_pages(
        series_ids=[meter.pk, other_series.pk], offset=6, limit=3, resume={meter.pk: second.next_ts}, **WINDOW
    )

    # then
    assert pages[meter.pk].records == whole(meter.pk)[6:9]
    assert pages[other_series.pk].records == others[6:9]


def test_a_page_past_the_periods_the_samples_span_is_empty(meter):
    # when: more records to skip than the window's samples span minutes, and a page past the
    # records within that span
    far = rollup.rollup_pages(series_ids=[meter.pk], offset=100, limit=5, **WINDOW)[meter.pk]
    near = rollup.rollup_pages(series_ids=[meter.pk], offset=10, limit=5, **WINDOW)[meter.pk]

    # then
    assert far == near == rollup.RollupPage([], None, None)


def test_cached_positions_walk_the_window_and_follow_a_write_between_pages(meter):
    # given: a client walking the window in pages of 3 with cached positions
    def page(offset: int) -> list[Rollup]:
        series = Series.objects.get(pk=meter.pk)
        return selectors.rollup_page(series=[series], offset=offset, limit=3, **WINDOW)[meter.pk]

    assert [page(offset) for offset in (0, 3, 6, 9)] == [whole(meter.pk)[i : i + 3] for i in (0, 3, 6, 9)]
    assert page(3) == whole(meter.pk)[3:6]

    # when: a sample lands in the empty minute 3 (a new record before the third page)
    write(SampleBatch([meter.pk], [200_000], [20.0]), Policy.OVERWRITE)

    # then: the pages move by one record, deltas included
    records = whole(meter.pk)
    assert len(records) == 11
    assert [page(offset) for offset in (6, 9, 3, 0)] == [records[i : i + 3] for i in (6, 9, 3, 0)]


def test_a_signal_without_samples_has_an_empty_page(series):
    # when
    pages = selectors.rollup_page(series=[series], offset=0, limit=10, **WINDOW)

    # then
    assert pages == {series.pk: []}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize(("offset", "limit"), [(0, None), (0, 1_000), (5_000, 1_000)])
def test_the_rollup_statement_reads_samples_only_through_the_primary_key(org, offset, limit):
    # given: a table of many series, one with a long history, and its statistics
    long, *others = SeriesFactory.create_batch(201, organization=org)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value)"
            " SELECT %s, g * 60000 + g %% 50000, g FROM generate_series(0, 19999) AS g"
            " UNION ALL SELECT s, g * 10000, g FROM unnest(%s::bigint[]) AS s, generate_series(0, 299) AS g",
            [long.pk, [series.pk for series in others]],
        )
        cursor.execute("ANALYZE timeseries_sample")

    # when: 30 days of one-minute rollups (720 periods a half day, 20,000 with samples)
    with CaptureQueriesContext(connection) as queries:
        records = rollup.rollups(
            series_ids=[long.pk, others[0].pk],
            start_ms=0,
            end_ms=30 * 86_400_000,
            period_ms=MINUTE,
            offset=offset,
            limit=limit,
        )

    # then
    assert len(records[long.pk]) == (limit or 20_000)
    scans = [scan for query in queries for scan in sample_scans(query["sql"])]
    assert scans
    assert {scan["Node Type"] for scan in scans} <= {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
    assert {scan["Index Name"] for scan in scans} == {"timeseries_sample_pkey"}


def sample_scans(sql: str) -> list[dict]:
    """Every node of the statement's plan that reads the sample table or its index."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found, nodes = [], [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        # A Bitmap Heap Scan reads the rows its Bitmap Index Scan (which names no table) found.
        if node["Node Type"] == "Bitmap Index Scan" or (
            node.get("Relation Name") == "timeseries_sample" and node["Node Type"] != "Bitmap Heap Scan"
        ):
            found.append(node)
    return found
