"""What an EMS history page costs, counted in the rows PostgreSQL reads from the sample table
(its statistics of the current transaction), not timed: a page must read about what it
returns, however deep into a long window it lies, and a page past the end almost nothing."""

import pytest
from django.db import connection

from apps.tenancy.models import Organization
from tests.factories import DeviceFactory, LoadFactory, SignalFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads PostgreSQL's per-transaction table statistics"
)

BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
MINUTES = 20_000  # one sample a minute: 20,000 records of one-minute rollups
WINDOW = {"start": BASE_MS, "end": BASE_MS + 30 * 86_400_000}
LIMIT = 100
# A page of 100 records reads ~100 keys to find where the next page starts, ~100 samples to
# group and ~100 primary-key probes for their values: a few hundred rows, whatever the page.
PAGE_ROWS = 1_000


@pytest.fixture
def long_signal(world):
    """Signal 700 on a series of 20,000 samples, one in every minute (at a varying second)."""
    organization = Organization.objects.get(slug="demo")
    load = LoadFactory(device=DeviceFactory(organization=organization, uid=700), uid=700)
    signal = SignalFactory(load=load, uid=700)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value)"
            " SELECT %s, %s + g * 60000 + (g * 7919) %% 60000, g * 0.5 FROM generate_series(0, %s) AS g",
            [signal.series_id, BASE_MS, MINUTES - 1],
        )
        cursor.execute("ANALYZE timeseries_sample")
    return signal


def sample_rows_read() -> int:
    """Rows this transaction has read from the sample table: keys through its primary key and
    rows of sequential scans."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_returned('timeseries_sample_pkey'::regclass)"
            " + pg_stat_get_xact_tuples_returned('timeseries_sample'::regclass)"
        )
        return cursor.fetchone()[0]


def read_page(api, page: int, limit: int = LIMIT) -> tuple[list, int]:
    before = sample_rows_read()
    response = api.get("/v1/signals/700/history", {**WINDOW, "limit": limit, "page": page})
    assert response.status_code == 200
    return response.json(), sample_rows_read() - before


def test_the_first_page_of_a_long_window_reads_about_what_it_returns(api, long_signal):
    records, rows = read_page(api, 1)

    assert len(records) == LIMIT
    assert rows < PAGE_ROWS


def test_a_page_past_the_end_reads_almost_nothing(api, long_signal):
    records, rows = read_page(api, 1_000)

    assert records == []
    assert rows < 10


def test_each_page_of_a_walk_through_a_long_window_reads_about_what_it_returns(api, long_signal):
    # given: a client that reads the window page after page
    for page in range(1, 40):
        read_page(api, page)

    # when
    records, rows = read_page(api, 40)
    again, rows_again = read_page(api, 40)

    # then: page 40 is found from where page 39 ended, not by counting 3,900 records again
    assert [record["p"] for record in records] == [BASE_MS // 1000 + 60 * (3_901 + i) for i in range(LIMIT)]
    assert records[0]["d"] == 0.5
    assert again == records
    assert rows < PAGE_ROWS
    assert rows_again < PAGE_ROWS


def test_the_page_after_the_last_of_a_walk_reads_nothing(api, long_signal):
    # given
    for page in range(1, 21):
        read_page(api, page, limit=1_000)

    # when
    records, rows = read_page(api, 21, limit=1_000)

    # then
    assert records == []
    assert rows == 0
