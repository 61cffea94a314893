"""GET /ingest/partitions/{partitionId}/points/{pointId}/values: the project's read extension."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.inventory.models import Point
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory
from tests.timeseries.helpers import BEFORE_THE_START_MS, PAST_THE_END_MS, store_unchecked

from .conftest import JSONAPI, point_value, post_values, resource

WINDOW = "filter[timestamp][gte]=2022-07-11T00:00:00Z&filter[timestamp][lt]=2022-07-12T00:00:00Z"


@pytest.fixture
def five(api, path):
    """Five values on 2022-07-11, one second apart, the second with a quality."""
    document = {
        "data": [
            point_value(
                f"2022-07-11T00:00:0{i}.250Z", str(i * 1.5), **({"qualityOfValue": 192} if i == 1 else {})
            )
            for i in range(5)
        ]
    }
    assert post_values(api, path, document).status_code == 204


def test_values_are_read_back_oldest_first_in_the_window(api, path, five):
    response = api.get(f"{path}?{WINDOW}")

    assert response.status_code == 200
    assert response["Content-Type"] == JSONAPI
    assert response.json() == {
        "data": [
            resource("2022-07-11T00:00:00.250Z", "0"),
            resource("2022-07-11T00:00:01.250Z", "1.5", qualityOfValue=192),
            resource("2022-07-11T00:00:02.250Z", "3"),
            resource("2022-07-11T00:00:03.250Z", "4.5"),
            resource("2022-07-11T00:00:04.250Z", "6"),
        ],
        "links": {"next": None},
    }


def test_the_filter_bounds_are_gte_and_lt_and_accept_offsets(api, path, five):
    response = api.get(
        f"{path}?filter[timestamp][gte]=2022-07-11T02:00:01.250%2B02:00&filter[timestamp][lt]=2022-07-11T00:00:03.250Z"
    )

    assert [item["attributes"]["timestamp"] for item in response.json()["data"]] == [
        "2022-07-11T00:00:01.250Z",
        "2022-07-11T00:00:02.250Z",
    ]


def test_an_unencoded_plus_in_an_offset_is_read_as_plus(api, path, five):
    response = api.get(
        f"{path}?filter[timestamp][gte]=2022-07-11T02:00:04+02:00&filter[timestamp][lt]=2022-07-12T00:00:00Z"
    )

    assert [item["attributes"]["timestamp"] for item in response.json()["data"]] == [
        "2022-07-11T00:00:04.250Z"
    ]


def test_the_cursor_pages_through_every_value_once(api, path, five):
    url = f"http://testserver{path}?{WINDOW}&page[limit]=2"
    pages = []
    while url:
        parts = urlsplit(url)
        response = api.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200
        pages.append([item["attributes"]["value"] for item in response.json()["data"]])
        url = response.json()["links"]["next"]
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["filter[timestamp][gte]"] == ["2022-07-11T00:00:00Z"]
            assert query["page[limit]"] == ["2"]

    assert pages == [["0", "1.5"], ["3", "4.5"], ["6"]]


def test_a_full_last_page_has_no_next_link(api, path, five):
    response = api.get(f"{path}?{WINDOW}&page[limit]=5")

    assert len(response.json()["data"]) == 5
    assert response.json()["links"]["next"] is None


def test_the_default_page_is_100_values(api, path, creds):
    # Given the point's series holding 150 one-minute samples.
    series_id = Point.objects.get(uuid=creds["point_id"]).series_id
    start = 1_735_689_600_000  # 2025-01-01T00:00:00Z
    write(
        SampleBatch(
            [series_id] * 150, [start + i * 60_000 for i in range(150)], [float(i) for i in range(150)]
        ),
        Policy.OVERWRITE,
    )

    response = api.get(path)

    body = response.json()
    assert len(body["data"]) == 100
    assert body["links"]["next"].startswith("http://testserver/ingest/partitions/")
    timestamps = [item["attributes"]["timestamp"] for item in body["data"]]
    assert timestamps == sorted(timestamps)


def test_reading_a_page_costs_a_fixed_number_of_queries(api, path):
    with CaptureQueriesContext(connection) as one:
        api.get(f"{path}?page[limit]=10")
    with CaptureQueriesContext(connection) as many:
        api.get(f"{path}?page[limit]=1000")

    # client with its organization, partition and point, samples (and, on PostgreSQL, setting and
    # resetting the request's statement timeout)
    timeout = 2 if connection.vendor == "postgresql" else 0
    assert len(one) == len(many) == 3 + timeout


def test_a_point_without_a_series_reads_as_empty(api, creds):
    point = Point.objects.get(uuid=creds["point_id"])
    Point.objects.filter(pk=point.pk).update(series=None)

    response = api.get(f"/ingest/partitions/{creds['partition_id']}/points/{creds['point_id']}/values")

    assert response.json() == {"data": [], "links": {"next": None}}


@pytest.mark.parametrize(
    ("query", "parameter", "code", "detail"),
    [
        ("page[limit]=0", "page[limit]", "invalid-parameter", "'page[limit]' must be at least 1."),
        ("page[limit]=1001", "page[limit]", "invalid-parameter", "'page[limit]' must be at most 1000."),
        ("page[limit]=ten", "page[limit]", "invalid-parameter", "'page[limit]' must be an integer."),
        (
            "page[cursor]=abc",
            "page[cursor]",
            "invalid-parameter",
            "'page[cursor]' is not a cursor this API issued.",
        ),
        (
            "filter[timestamp][gte]=yesterday",
            "filter[timestamp][gte]",
            "invalid-parameter",
            "'filter[timestamp][gte]' must be an RFC 3339 date-time, e.g. 2022-07-11T11:11:30Z.",
        ),
        (
            "filter[timestamp][lt]=1657537890",
            "filter[timestamp][lt]",
            "invalid-parameter",
            "'filter[timestamp][lt]' must be an RFC 3339 date-time, e.g. 2022-07-11T11:11:30Z.",
        ),
        (
            "filter[timestamp][gt]=2022-07-11T00:00:00Z",
            "filter[timestamp][gt]",
            "unsupported-parameter",
            "'filter[timestamp][gt]' is not supported.",
        ),
        ("page[number]=2", "page[number]", "unsupported-parameter", "'page[number]' is not supported."),
        ("sort=-timestamp", "sort", "unsupported-parameter", "'sort' is not supported."),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api, path, query, parameter, code, detail):
    response = api.get(f"{path}?{query}")

    assert response.status_code == 400
    [problem] = response.json()["errors"]
    assert problem == {
        "status": "400",
        "code": code,
        "title": "Invalid query parameter" if code == "invalid-parameter" else "Unsupported query parameter",
        "detail": detail,
        "source": {"parameter": parameter},
    }


def test_unrelated_query_parameters_are_ignored(api, path, five):
    response = api.get(f"{path}?{WINDOW}&fields[PointValue]=value&utm=1")

    assert response.status_code == 200
    assert len(response.json()["data"]) == 5


def test_reading_needs_a_token(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response["Content-Type"] == JSONAPI


def test_timestamps_before_1970_and_in_year_9999_round_trip(api, path):
    document = {
        "data": [
            point_value("1969-12-31T23:59:59.999Z", "-1"),
            point_value("0001-01-01T00:00:00Z", "1e-7"),
            point_value("9999-12-31T23:59:59.999Z", "1e300"),
        ]
    }

    assert post_values(api, path, document).status_code == 204
    response = api.get(f"{path}?filter[timestamp][lt]=1970-01-01T00:00:00Z")
    late = api.get(f"{path}?filter[timestamp][gte]=9999-01-01T00:00:00Z")

    assert response.json()["data"] == [
        resource("0001-01-01T00:00:00.000Z", "1e-07"),
        resource("1969-12-31T23:59:59.999Z", "-1"),
    ]
    assert late.json()["data"] == [resource("9999-12-31T23:59:59.999Z", "1e+300")]


def test_samples_stored_outside_years_1_to_9999_are_left_out_of_every_page(api, path, creds):
    # Given a point whose series holds, beside a valid value, samples no write accepts any more
    # (one of them now its latest value), as older rows or a hand-written insert may leave them
    point = Point.objects.get(uuid=creds["point_id"])
    Point.objects.filter(pk=point.pk).update(series=SeriesFactory(organization=point.organization))
    point.refresh_from_db()
    store_unchecked(point.series_id, [(BEFORE_THE_START_MS, 1.0), (0, 2.0), (PAST_THE_END_MS, 3.0)])

    everything = api.get(path)
    late = api.get(f"{path}?filter[timestamp][gte]=9999-12-31T00:00:00Z")
    beyond = api.get(f"{path}?filter[timestamp][gte]=9999-12-31T23:59:59.999-23:59")

    assert everything.status_code == late.status_code == beyond.status_code == 200
    assert everything.json() == {
        "data": [resource("1970-01-01T00:00:00.000Z", "2")],
        "links": {"next": None},
    }
    assert late.json() == beyond.json() == {"data": [], "links": {"next": None}}


def test_every_resource_is_identified_by_its_utc_timestamp_to_the_millisecond(api, path):
    # JSON:API clients (jsonapi-client) index resources by `id`; a value's is its timestamp,
    # in UTC and to the millisecond whatever the request's offset and precision.
    document = {
        "data": [
            point_value("2022-07-11T13:00:00.1239+02:00", "1"),
            point_value("2022-07-11T11:00:01Z", "2"),
            point_value("2022-07-11T11:00:00.123Z", "3"),  # the first one's millisecond: dropped
        ]
    }
    posted = post_values(api, path, document)
    page_1 = api.get(f"{path}?{WINDOW}&page[limit]=1")
    page_2 = api.get(page_1.json()["links"]["next"])

    assert posted.status_code == 202
    assert [item["id"] for item in posted.json()["data"]] == [
        "2022-07-11T11:00:00.123Z",
        "2022-07-11T11:00:01.000Z",
    ]
    assert page_1.json()["data"] == [resource("2022-07-11T11:00:00.123Z", "1")]
    assert page_2.json()["data"] == [resource("2022-07-11T11:00:01.000Z", "2")]
