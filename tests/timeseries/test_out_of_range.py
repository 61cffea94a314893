"""Instants outside the years 1-9999 that the store may hold (written before every write path
refused them): the CSV export, the series pages, the chart and the dashboard read them without
failing, showing such a time as its epoch milliseconds."""

import pytest

from apps.timeseries.export import samples_csv
from apps.timeseries.models import Series
from tests.factories import SignalFactory

MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
FAR = [-(2**63), MIN_MS - 1, MIN_MS, 1_709_251_200_000, MAX_MS, MAX_MS + 1, 2**63 - 1]


@pytest.fixture
def far(series, add_samples):
    add_samples(series, [(ts, float(i)) for i, ts in enumerate(FAR)])
    # A current sample (the newest at or before now) outside the years, as a hand-written row
    # may leave it; one dated later would not be current.
    Series.objects.filter(pk=series.pk).update(last_ts=MIN_MS - 1, last_value=1.0)
    series.refresh_from_db()
    return series


def test_the_csv_export_writes_times_outside_years_1_to_9999_as_epoch_milliseconds(far):
    text = "".join(samples_csv(series_id=far.pk, start_ms=None, end_ms=None))

    assert text.splitlines() == [
        "timestamp,value,quality",
        "-9223372036854775808,0.0,",
        "-62135596800001,1.0,",
        "0001-01-01T00:00:00.000Z,2.0,",
        "2024-03-01T00:00:00.000Z,3.0,",
        "9999-12-31T23:59:59.999Z,4.0,",
        "253402300800000,5.0,",
        "9223372036854775807,6.0,",
    ]


def test_the_export_download_of_the_page_streams_them_too(manager_client, far):
    response = manager_client.get(f"/admin/timeseries/series/{far.pk}/export/", {"download": "1"})
    page = manager_client.get(f"/admin/timeseries/series/{far.pk}/export/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().splitlines()[-1] == "9223372036854775807,6.0,"
    assert page.status_code == 200
    assert "-62135596800001 epoch ms" in page.content.decode()


def test_the_series_pages_and_chart_show_them_as_epoch_milliseconds(manager_client, far):
    listing = manager_client.get("/admin/timeseries/series/")
    change = manager_client.get(f"/admin/timeseries/series/{far.pk}/change/")
    chart = manager_client.get(f"/admin/timeseries/series/{far.pk}/chart/")
    edge = manager_client.get(
        f"/admin/timeseries/series/{far.pk}/chart/", {"start": MAX_MS - 1000, "end": MAX_MS}
    )

    assert listing.status_code == 200
    assert "-62135596800001 epoch ms (outside the years 1 to 9999)" in listing.content.decode()
    assert change.status_code == 200
    text = change.content.decode()
    assert "253402300800000 epoch ms (outside the years 1 to 9999)" in text
    assert "9999-12-31 23:59:59.999" in text
    assert "0001-01-01 00:00:00.000" in text
    assert chart.status_code == 200
    assert edge.status_code == 200
    assert edge.json()["t"] == []


def test_the_dashboard_lists_a_signal_whose_newest_sample_is_before_year_1(manager_client, org, series):
    SignalFactory(load__device__organization=org, series=series, enable=True)
    Series.objects.filter(pk=series.pk).update(last_ts=MIN_MS - 1, last_value=1.0)

    response = manager_client.get("/admin/")

    assert response.status_code == 200
    assert "-62135596800001 epoch ms" in response.content.decode()
