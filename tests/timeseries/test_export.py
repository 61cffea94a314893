"""The CSV export of a series range: exact content, paging, and the admin page that streams it."""

import pytest
from django.http import StreamingHttpResponse

from apps.core.time import ms_to_iso
from apps.timeseries.export import export_filename, samples_csv
from tests.factories import SeriesFactory

DAY = 86_400_000


@pytest.fixture
def filled(series, add_samples):
    add_samples(
        series, [(0, 0.1), (1_709_251_200_000, 12.5, 192), (1_709_251_200_001, -1e-300), (DAY * 20_000, 3.0)]
    )
    return series


def test_the_csv_holds_iso_utc_times_with_ms_exact_values_and_qualities(filled):
    text = "".join(samples_csv(series_id=filled.pk, start_ms=None, end_ms=None))

    assert text == (
        "timestamp,value,quality\r\n"
        "1970-01-01T00:00:00.000Z,0.1,\r\n"
        "2024-03-01T00:00:00.000Z,12.5,192\r\n"
        "2024-03-01T00:00:00.001Z,-1e-300,\r\n"
        "2024-10-04T00:00:00.000Z,3.0,\r\n"
    )


def test_the_csv_covers_start_inclusive_to_end_exclusive(filled):
    text = "".join(samples_csv(series_id=filled.pk, start_ms=1_709_251_200_000, end_ms=DAY * 20_000))

    assert text.splitlines() == [
        "timestamp,value,quality",
        "2024-03-01T00:00:00.000Z,12.5,192",
        "2024-03-01T00:00:00.001Z,-1e-300,",
    ]


def test_the_csv_is_read_page_by_page(series, add_samples):
    add_samples(series, [(i * 1000, float(i)) for i in range(7)])

    chunks = list(samples_csv(series_id=series.pk, start_ms=None, end_ms=None, page=3))

    assert [chunk.count("\r\n") for chunk in chunks] == [1, 3, 3, 1]
    assert chunks[-1] == "1970-01-01T00:00:06.000Z,6.0,\r\n"


def test_an_empty_series_exports_the_header_only(series):
    assert list(samples_csv(series_id=series.pk, start_ms=None, end_ms=None)) == [
        "timestamp,value,quality\r\n"
    ]


def test_times_and_file_names():
    assert ms_to_iso(1_709_251_200_123) == "2024-03-01T00:00:00.123Z"
    assert export_filename(label="main/meter 1", start_ms=1_709_251_200_000, end_ms=None) == (
        "main-meter-1_20240301T000000Z_all.csv"
    )


# --- the admin page ----------------------------------------------------------------------------


def export_url(series) -> str:
    return f"/admin/timeseries/series/{series.pk}/export/"


def test_the_export_streams_the_range_as_an_attachment(manager_client, filled):
    response = manager_client.get(
        export_url(filled),
        {"start": "2024-03-01T01:00", "end": "", "time_zone": "Europe/Zurich", "download": "1"},
    )

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="main_20240301T000000Z_all.csv"'
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "timestamp,value,quality",
        "2024-03-01T00:00:00.000Z,12.5,192",
        "2024-03-01T00:00:00.001Z,-1e-300,",
        "2024-10-04T00:00:00.000Z,3.0,",
    ]


def test_the_export_page_shows_the_range_form_and_its_errors(manager_client, filled):
    page = manager_client.get(export_url(filled))
    bad = manager_client.get(export_url(filled), {"start": "soon", "end": "2024-01-01", "download": "1"})
    backwards = manager_client.get(
        export_url(filled), {"start": "2024-02-01", "end": "2024-01-01", "download": "1"}
    )

    assert page.status_code == 200
    assert b'id="series-export-form"' in page.content
    assert bad.status_code == 200
    assert "start" in bad.context["form"].errors
    assert backwards.context["form"].errors["end"] == ["The end must come after the start."]


def test_another_organizations_series_cannot_be_exported(manager_client, other_org):
    foreign = SeriesFactory(organization=other_org)

    assert manager_client.get(export_url(foreign), {"download": "1"}).status_code == 404
    assert manager_client.get("/admin/timeseries/series/999999/export/").status_code == 404


def test_the_series_page_links_the_export_and_the_deletion(manager_client, filled):
    response = manager_client.get(f"/admin/timeseries/series/{filled.pk}/change/")

    text = response.content.decode()
    assert f'href="/admin/timeseries/series/{filled.pk}/export/"' in text
    assert f'href="/admin/timeseries/series/{filled.pk}/delete-samples/"' in text
