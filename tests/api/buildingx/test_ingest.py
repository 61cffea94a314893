"""POST /ingest/partitions/{partitionId}/points/{pointId}/values (API.md §3)."""

import time
import uuid

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from apps.access.models import OAuthClient
from apps.api.buildingx.render import timestamp
from apps.inventory.models import Point
from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import PartitionFactory, PointFactory
from tests.timeseries.helpers import store_snapshot

from .conftest import JSONAPI, ms, point_value, post_values, resource, stored, values_path

DAY_2022 = (ms("2022-07-11T00:00:00+00:00"), ms("2022-07-12T00:00:00+00:00"))
VENDOR_FOUR = [
    point_value("2022-07-11T11:11:30.333Z", "1"),
    point_value("2022-07-11T11:11:30.222Z", "2"),
    point_value("2022-07-11T11:11:30.333Z", "3"),
    point_value("2022-07-11T11:11:30.444Z", "4"),
]


def error(status: int, code: str, title: str, detail: str, **source) -> dict:
    body = {"status": str(status), "code": code, "title": title, "detail": detail}
    if source:
        body["source"] = source
    return body


def test_the_vendor_example_stores_the_value_and_answers_204(api, path, creds):
    response = post_values(api, path, {"data": [point_value("2000-05-11T10:32:54.964Z", "12.66")]})

    assert response.status_code == 204
    assert response.content == b""
    at = ms("2000-05-11T10:32:54.964+00:00")
    assert stored(creds, at, at + 1) == [(at, 12.66, None)]


def test_the_vendors_four_timestamps_store_three_values_and_report_index_2(api, path, creds):
    response = post_values(api, path, {"data": VENDOR_FOUR})

    assert response.status_code == 202
    assert response["Content-Type"] == JSONAPI
    assert response.json() == {
        "data": [
            resource("2022-07-11T11:11:30.333Z", "1"),
            resource("2022-07-11T11:11:30.222Z", "2"),
            resource("2022-07-11T11:11:30.444Z", "4"),
        ],
        "meta": {"droppedIndices": [2]},
    }
    assert stored(creds, *DAY_2022) == [
        (ms("2022-07-11T11:11:30.222+00:00"), 2.0, None),
        (ms("2022-07-11T11:11:30.333+00:00"), 1.0, None),
        (ms("2022-07-11T11:11:30.444+00:00"), 4.0, None),
    ]


def test_resending_the_same_values_drops_all_of_them(api, path, creds):
    post_values(api, path, {"data": VENDOR_FOUR})
    before = stored(creds, *DAY_2022)

    response = post_values(api, path, {"data": VENDOR_FOUR})

    assert response.status_code == 202
    assert response.json() == {"data": [], "meta": {"droppedIndices": [0, 1, 2, 3]}}
    assert stored(creds, *DAY_2022) == before


def test_overwrite_false_is_the_default_keep_policy(api, path, creds):
    post_values(api, path, {"data": [point_value("2022-07-11T11:11:30.333Z", "1", qualityOfValue=1)]})

    response = post_values(
        api,
        f"{path}?overwrite=false",
        {"data": [point_value("2022-07-11T11:11:30.333Z", "9", qualityOfValue=9)]},
    )

    assert response.status_code == 202
    assert response.json()["meta"] == {"droppedIndices": [0]}
    assert stored(creds, *DAY_2022) == [(ms("2022-07-11T11:11:30.333+00:00"), 1.0, 1)]


def test_overwrite_true_replaces_value_and_quality_the_last_occurrence_winning(api, path, creds):
    post_values(api, path, {"data": VENDOR_FOUR})
    replacement = [
        point_value("2022-07-11T11:11:30.333Z", "10", qualityOfValue=7),
        point_value("2022-07-11T11:11:30.222Z", "20"),
        point_value("2022-07-11T11:11:30.333Z", "30", qualityOfValue=8),
    ]

    response = post_values(api, f"{path}?overwrite=true", {"data": replacement})

    assert response.status_code == 204
    assert stored(creds, *DAY_2022) == [
        (ms("2022-07-11T11:11:30.222+00:00"), 20.0, None),
        (ms("2022-07-11T11:11:30.333+00:00"), 30.0, 8),
        (ms("2022-07-11T11:11:30.444+00:00"), 4.0, None),
    ]


@pytest.mark.parametrize("overwrite", ["yes", "TRUE", "1", ""])
def test_an_overwrite_other_than_true_or_false_is_400_and_stores_nothing(api, path, creds, overwrite):
    response = post_values(api, f"{path}?overwrite={overwrite}", {"data": VENDOR_FOUR})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            error(
                400,
                "invalid-parameter",
                "Invalid query parameter",
                "'overwrite' must be true or false.",
                parameter="overwrite",
            )
        ]
    }
    assert stored(creds, *DAY_2022) == []


def test_quality_of_value_is_stored_with_the_value(api, path, creds):
    response = post_values(
        api,
        path,
        {
            "data": [
                point_value("2022-07-11T00:00:00Z", "1.5", qualityOfValue=0),
                point_value("2022-07-11T00:00:01Z", "2.5", qualityOfValue=-32768),
                point_value("2022-07-11T00:00:02Z", "3.5", qualityOfValue=32767),
                point_value("2022-07-11T00:00:03Z", "4.5", qualityOfValue=None),
            ]
        },
    )

    assert response.status_code == 204
    assert [(value, quality) for _, value, quality in stored(creds, *DAY_2022)] == [
        (1.5, 0),
        (2.5, -32768),
        (3.5, 32767),
        (4.5, None),
    ]


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2022-07-11T11:11:30.333", "2022-07-11T11:11:30.333+00:00"),
        ("2022-07-11T11:11:30", "2022-07-11T11:11:30+00:00"),
        ("2022-07-11T13:11:30.333+02:00", "2022-07-11T11:11:30.333+00:00"),
        ("2022-07-11T06:41:30.333-04:30", "2022-07-11T11:11:30.333+00:00"),
        ("2022-07-11T11:11:30.333999Z", "2022-07-11T11:11:30.333+00:00"),
        ("2022-07-11t11:11:30.3z", "2022-07-11T11:11:30.300+00:00"),
        ("2022-07-11 11:11:30Z", "2022-07-11T11:11:30+00:00"),
        ("2022-07-12T00:30:00+01:00", "2022-07-11T23:30:00+00:00"),
    ],
)
def test_timestamps_are_read_as_rfc_3339_without_offset_as_utc_kept_to_the_millisecond(
    api, path, creds, timestamp, expected
):
    response = post_values(api, path, {"data": [point_value(timestamp, "1")]})

    assert response.status_code == 204
    assert [ts for ts, _, _ in stored(creds, *DAY_2022)] == [ms(expected)]


RFC_3339 = "'timestamp' must be an RFC 3339 date-time, e.g. 2022-07-11T11:11:30.333Z."
OUT_OF_RANGE = "'timestamp' must lie within 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z."


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        *(
            (timestamp, RFC_3339)
            for timestamp in (
                "2022-07-11",
                "11:11:30",
                "yesterday",
                "",
                "2022-02-30T00:00:00Z",
                "2022-07-11T24:00:00Z",
                "2022-07-11T11:60:00Z",
                "2022-07-11T11:11:60Z",
                "2022-07-11T11:11:30.Z",
                "2022-07-11T11:11:30+2:00",
                "2022-07-11T11:11:30+24:00",
                "2022-07-11T11:11Z",
                "20220711T111130Z",
                "0000-01-01T00:00:00Z",
                "\uff12\uff10\uff12\uff12-07-11T11:11:30Z",  # full-width digits
                1657537890333,
                None,
            )
        ),
        # Dates of years 1 and 9999 whose offset takes the instant outside them (the two
        # first: 10000-01-01T23:58:59.999Z and 0000-12-31T00:01:00Z)
        ("9999-12-31T23:59:59.999-23:59", OUT_OF_RANGE),
        ("0001-01-01T00:00:00+23:59", OUT_OF_RANGE),
        ("9999-12-31T23:59:59.999-00:01", OUT_OF_RANGE),
        ("0001-01-01T00:00:00.000+00:01", OUT_OF_RANGE),
    ],
)
def test_an_unparsable_or_out_of_range_timestamp_is_400_pointing_at_it(api, path, creds, timestamp, detail):
    before = store_snapshot()
    document = {"data": [point_value("2022-07-11T00:00:00Z"), point_value(timestamp)]}

    response = post_values(api, path, document)

    assert response.status_code == 400
    assert response["Content-Type"] == JSONAPI
    assert response.json() == {
        "errors": [
            error(
                400, "invalid-timestamp", "Invalid timestamp", detail, pointer="/data/1/attributes/timestamp"
            )
        ]
    }
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.66", 12.66), ("-3", -3.0), ("+1.5e3", 1500.0), (".5", 0.5), ("7.", 7.0), (12.5, 12.5), (7, 7.0)],
)
def test_values_are_numbers_in_strings_or_json_numbers(api, path, creds, value, expected):
    response = post_values(api, path, {"data": [point_value("2022-07-11T00:00:00Z", value)]})

    assert response.status_code == 204
    assert stored(creds, *DAY_2022) == [(ms("2022-07-11T00:00:00+00:00"), expected, None)]


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        " 12",
        "12 ",
        "1,5",
        "1_000",
        "0x10",
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "1e999",
        True,
        False,
        None,
        [1],
        {"v": 1},
    ],
)
def test_a_value_that_is_not_a_finite_number_is_400_pointing_at_it(api, path, creds, value):
    document = {"data": [point_value("2022-07-11T00:00:00Z"), point_value("2022-07-11T00:00:01Z", value)]}

    response = post_values(api, path, document)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            error(
                400,
                "invalid-value",
                "Invalid value",
                "'value' must be a finite number or a string holding one.",
                pointer="/data/1/attributes/value",
            )
        ]
    }
    assert stored(creds, *DAY_2022) == []


def test_nan_and_infinity_literals_are_malformed_json(api, path, creds):
    response = post_values(
        api,
        path,
        b'{"data": [{"type": "PointValue", '
        b'"attributes": {"timestamp": "2022-07-11T00:00:00Z", "value": NaN}}]}',
    )

    assert response.status_code == 400
    [problem] = response.json()["errors"]
    assert (problem["status"], problem["code"], problem["title"]) == (
        "400",
        "malformed-json",
        "Malformed JSON",
    )
    assert "source" not in problem


@pytest.mark.parametrize("quality", [1.5, "3", True, 32768, -32769, [1]])
def test_a_quality_that_is_not_a_16_bit_integer_is_400_pointing_at_it(api, path, creds, quality):
    response = post_values(api, path, {"data": [point_value("2022-07-11T00:00:00Z", qualityOfValue=quality)]})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            error(
                400,
                "invalid-quality",
                "Invalid quality",
                "'qualityOfValue' must be an integer from -32768 to 32767.",
                pointer="/data/0/attributes/qualityOfValue",
            )
        ]
    }
    assert stored(creds, *DAY_2022) == []


@pytest.mark.parametrize(
    ("item", "code", "title", "detail", "pointer"),
    [
        (
            {"type": "Point", "attributes": {"timestamp": "2022-07-11T00:00:00Z", "value": "1"}},
            "invalid-resource-type",
            "Invalid resource type",
            "'type' must be 'PointValue'.",
            "/data/0/type",
        ),
        (
            {"attributes": {"timestamp": "2022-07-11T00:00:00Z", "value": "1"}},
            "missing-member",
            "Missing member",
            "The resource has no 'type'; it must be 'PointValue'.",
            "/data/0/type",
        ),
        (
            {"type": "PointValue"},
            "missing-member",
            "Missing member",
            "The resource has no 'attributes'.",
            "/data/0/attributes",
        ),
        (
            {"type": "PointValue", "attributes": ["2022-07-11T00:00:00Z", "1"]},
            "invalid-member",
            "Invalid member",
            "'attributes' must be an object.",
            "/data/0/attributes",
        ),
        (
            {"type": "PointValue", "attributes": {"value": "1"}},
            "missing-member",
            "Missing member",
            "'timestamp' is required.",
            "/data/0/attributes/timestamp",
        ),
        (
            {"type": "PointValue", "attributes": {"timestamp": "2022-07-11T00:00:00Z"}},
            "missing-member",
            "Missing member",
            "'value' is required.",
            "/data/0/attributes/value",
        ),
        (
            "2022-07-11T00:00:00Z",
            "invalid-member",
            "Invalid member",
            "Each item of 'data' must be a PointValue resource object.",
            "/data/0",
        ),
    ],
)
def test_a_malformed_resource_is_400_pointing_at_the_member(
    api, path, creds, item, code, title, detail, pointer
):
    response = post_values(api, path, {"data": [item]})

    assert response.status_code == 400
    assert response.json() == {"errors": [error(400, code, title, detail, pointer=pointer)]}
    assert stored(creds, *DAY_2022) == []


def test_every_problem_of_a_document_is_reported_at_once(api, path, creds):
    document = {
        "data": [
            point_value("2022-07-11T00:00:00Z"),
            point_value("not a time", "1"),
            point_value("2022-07-11T00:00:02Z"),
            {"type": "Other", "attributes": {"timestamp": "2022-07-11T00:00:03Z", "value": "x"}},
        ]
    }

    response = post_values(api, path, document)

    assert response.status_code == 400
    assert [(e["code"], e["source"]["pointer"]) for e in response.json()["errors"]] == [
        ("invalid-timestamp", "/data/1/attributes/timestamp"),
        ("invalid-resource-type", "/data/3/type"),
        ("invalid-value", "/data/3/attributes/value"),
    ]
    assert stored(creds, *DAY_2022) == []


def test_an_id_and_unknown_members_are_ignored(api, path, creds):
    item = point_value("2022-07-11T00:00:00Z", "1", unit="kWh")
    item.update(id="abc", meta={"source": "bms"})

    response = post_values(api, path, {"data": [item], "jsonapi": {"version": "1.1"}})

    assert response.status_code == 204
    assert len(stored(creds, *DAY_2022)) == 1


@pytest.mark.parametrize(
    ("document", "code", "title", "detail", "pointer"),
    [
        (
            {"data": []},
            "invalid-count",
            "Invalid number of values",
            "'data' must hold 1 to 100 values; it holds 0.",
            "/data",
        ),
        (
            {"data": [point_value(f"2022-07-11T00:00:{i // 10:02d}.{i % 10}Z") for i in range(101)]},
            "invalid-count",
            "Invalid number of values",
            "'data' must hold 1 to 100 values; it holds 101.",
            "/data",
        ),
        ({}, "missing-member", "Missing member", "The document has no 'data' member.", "/data"),
        (
            {"data": point_value("2022-07-11T00:00:00Z")},
            "invalid-member",
            "Invalid member",
            "'data' must be an array of PointValue resources.",
            "/data",
        ),
        (
            [point_value("2022-07-11T00:00:00Z")],
            "invalid-member",
            "Invalid member",
            "The request document must be a JSON object.",
            "",
        ),
    ],
    ids=["0 values", "101 values", "no data", "data an object", "document an array"],
)
def test_a_document_without_1_to_100_values_is_400_with_a_pointer(
    api, path, creds, document, code, title, detail, pointer
):
    response = post_values(api, path, document)

    assert response.status_code == 400
    assert response.json() == {"errors": [error(400, code, title, detail, pointer=pointer)]}
    assert stored(creds, *DAY_2022) == []


def test_100_values_are_accepted(api, path, creds):
    document = {
        "data": [point_value(f"2022-07-11T00:00:{i // 10:02d}.{i % 10}Z", str(i)) for i in range(100)]
    }

    response = post_values(api, path, document)

    assert response.status_code == 204
    assert [value for _, value, _ in stored(creds, *DAY_2022)] == [float(i) for i in range(100)]


def test_plain_json_is_accepted_and_any_accept_header_gets_json_api(api, path, creds):
    response = api.post(
        path,
        data=b'{"data": [{"type": "PointValue", '
        b'"attributes": {"timestamp": "2022-07-11T00:00:00Z", "value": "1"}}]}',
        content_type="application/json; charset=utf-8",
        HTTP_ACCEPT="application/json",
    )
    refused = post_values(api, path, {"data": VENDOR_FOUR}, content_type="application/json")

    assert response.status_code == 204
    assert refused.status_code == 202
    assert refused["Content-Type"] == JSONAPI


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_other_media_types_are_415(api, path, creds, content_type):
    response = post_values(api, path, {"data": VENDOR_FOUR}, content_type=content_type)

    assert response.status_code == 415
    assert response["Content-Type"] == JSONAPI
    [problem] = response.json()["errors"]
    assert (problem["status"], problem["code"], problem["title"]) == (
        "415",
        "unsupported-media-type",
        "Unsupported media type",
    )
    assert stored(creds, *DAY_2022) == []


def test_a_body_without_content_type_is_415(api, path):
    response = api.generic("POST", path, b'{"data": []}', content_type="")

    assert response.status_code == 415


def test_malformed_json_is_400(api, path, creds):
    response = post_values(api, path, b'{"data": [')

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "malformed-json"


def test_a_body_over_1_mib_is_413_before_parsing(api, path, creds):
    response = post_values(api, path, b"{" + b" " * 1_048_576 + b"}")

    assert response.status_code == 413
    assert response["Content-Type"] == JSONAPI
    assert response.json() == {
        "errors": [
            error(413, "payload-too-large", "Payload too large", "Request body is larger than 1048576 bytes.")
        ]
    }


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-jwt", "Basic abc", "Bearer a b"])
def test_without_a_valid_token_it_is_401_in_the_json_api_shape(creds, path, client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.post(path, data=b"{}", content_type=JSONAPI, **extra)

    assert response.status_code == 401
    assert response["Content-Type"] == JSONAPI
    assert response["WWW-Authenticate"] == "Bearer"
    [problem] = response.json()["errors"]
    assert (problem["status"], problem["code"], problem["title"]) == ("401", "unauthorized", "Unauthorized")
    assert stored(creds, *DAY_2022) == []


def _restrict(creds, *partitions) -> None:
    OAuthClient.objects.get(client_id=creds["client_id"]).partitions.set(partitions)


def test_a_partition_not_granted_to_the_client_is_403_and_nothing_is_stored(api, path, creds):
    organization = Organization.objects.get(slug="demo")
    _restrict(creds, PartitionFactory(organization=organization))

    response = post_values(api, path, {"data": VENDOR_FOUR})
    read = api.get(path)

    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            error(403, "forbidden", "Forbidden", f"The client may not use partition {creds['partition_id']}.")
        ]
    }
    assert read.status_code == 403
    assert stored(creds, *DAY_2022) == []


def test_a_client_limited_to_the_partition_may_write_to_it(api, path, creds):
    point = Point.objects.get(uuid=creds["point_id"])
    _restrict(creds, point.partition, PartitionFactory(organization=point.organization))

    response = post_values(api, path, {"data": VENDOR_FOUR[:1]})

    assert response.status_code == 204


def test_an_ungranted_partition_is_403_even_for_an_unknown_point(api, creds):
    organization = Organization.objects.get(slug="demo")
    _restrict(creds, PartitionFactory(organization=organization))

    response = post_values(api, values_path(creds, point_id=str(uuid.uuid4())), {"data": VENDOR_FOUR})

    assert response.status_code == 403


def _not_found(what: str) -> dict:
    return {"errors": [error(404, "not-found", "Not found", what)]}


def test_unknown_and_another_organizations_partitions_and_points_are_the_same_404(api, creds, other_creds):
    unknown_partition, unknown_point = str(uuid.uuid4()), str(uuid.uuid4())
    cases = {
        "unknown partition": (unknown_partition, creds["point_id"]),
        "other partition": (other_creds["partition_id"], creds["point_id"]),
        "unknown point": (creds["partition_id"], unknown_point),
        "other point": (creds["partition_id"], other_creds["point_id"]),
    }
    answers = {}
    for name, (partition_id, point_id) in cases.items():
        path = values_path(creds, partition_id=partition_id, point_id=point_id)
        answers[name] = post_values(api, path, {"data": VENDOR_FOUR})
        assert answers[name].status_code == 404, name
        assert answers[name]["Content-Type"] == JSONAPI
        assert api.get(path).json() == answers[name].json()

    for name in ("unknown partition", "other partition"):
        partition_id = cases[name][0]
        assert answers[name].json() == _not_found(f"Partition {partition_id} not found.")
    for name in ("unknown point", "other point"):
        point_id = cases[name][1]
        assert answers[name].json() == _not_found(
            f"Point {point_id} not found in partition {creds['partition_id']}."
        )
    assert stored(creds, *DAY_2022) == []
    assert stored(other_creds, *DAY_2022) == []


def test_a_point_of_another_partition_is_404(api, creds):
    organization = Organization.objects.get(slug="demo")
    other_partition = PartitionFactory(organization=organization)

    response = post_values(
        api, values_path(creds, partition_id=str(other_partition.uuid)), {"data": VENDOR_FOUR}
    )

    assert response.status_code == 404
    assert stored(creds, *DAY_2022) == []


@pytest.mark.parametrize(
    ("partition_id", "point_id", "detail"),
    [
        ("not-a-uuid", None, "Partition not-a-uuid not found."),
        ("12345", None, "Partition 12345 not found."),
        (None, "not-a-uuid", "Point not-a-uuid not found in partition {partition}."),
        (
            None,
            "{00000000-0000-0000-0000-000000000000}",
            "Point {{00000000-0000-0000-0000-000000000000}} not found in partition {partition}.",
        ),
    ],
)
def test_a_malformed_uuid_in_the_path_is_404_in_the_json_api_shape(
    api, creds, partition_id, point_id, detail
):
    path = values_path(creds, partition_id=partition_id, point_id=point_id)

    response = post_values(api, path, {"data": VENDOR_FOUR})

    assert response.status_code == 404
    assert response.json() == _not_found(detail.format(partition=creds["partition_id"]))


def test_uuids_in_upper_case_name_the_same_objects(api, creds):
    path = values_path(creds, partition_id=creds["partition_id"].upper(), point_id=creds["point_id"].upper())

    assert post_values(api, path, {"data": VENDOR_FOUR[:1]}).status_code == 204


def test_another_organizations_token_never_reads_or_writes_this_point(other_api, path, creds):
    written = post_values(other_api, path, {"data": VENDOR_FOUR})
    read = other_api.get(path)

    assert written.status_code == 404
    assert read.status_code == 404
    assert stored(creds, *DAY_2022) == []


def test_a_point_without_a_series_gets_one_on_its_first_write(api, creds):
    point = Point.objects.get(uuid=creds["point_id"])
    fresh = PointFactory(partition=point.partition, series=None, name="New meter", unit="kWh")
    path = values_path(creds, point_id=str(fresh.uuid))

    empty = api.get(path)
    response = post_values(api, path, {"data": VENDOR_FOUR})

    assert empty.json() == {"data": [], "links": {"next": None}}
    assert response.status_code == 202
    fresh.refresh_from_db()
    series = Series.objects.get(pk=fresh.series_id)
    assert (series.organization_id, series.name, series.unit) == (point.organization_id, "New meter", "kWh")
    assert series.last_ts == ms("2022-07-11T11:11:30.444+00:00")
    assert len(api.get(path).json()["data"]) == 3


def test_the_series_latest_sample_follows_the_write(api, path, creds):
    series = Point.objects.get(uuid=creds["point_id"]).series
    minute = int(time.time()) // 60 * 60_000  # the last whole minute: the token is valid then
    write(SampleBatch([series.pk], [minute], [41.0]), Policy.OVERWRITE)
    series.refresh_from_db()
    newest = series.last_ts + 60_000  # the next minute: written once it has come
    with time_machine.travel((newest + 1_000) / 1000, tick=False):
        response = post_values(api, path, {"data": [point_value(timestamp(newest), "42.5")]})

    assert response.status_code == 204
    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (newest, 42.5)


def test_a_post_finds_its_credentials_and_point_in_two_queries_before_the_store(api, path):
    with CaptureQueriesContext(connection) as queries:
        response = post_values(api, path, {"data": VENDOR_FOUR})

    assert response.status_code == 202
    dialect = [
        q["sql"]
        for q in queries
        if not any(other in q["sql"] for other in ("timeseries_", "SAVEPOINT", "statement_timeout"))
    ]
    assert len(dialect) == 2  # client with its organization; partition with grant and point


def test_other_methods_are_405_and_other_paths_404_in_the_json_api_shape(api, path):
    put = api.put(path, data=b"{}", content_type=JSONAPI)
    elsewhere = api.get("/ingest/partitions/x/points")

    assert put.status_code == 405
    assert put["Content-Type"] == JSONAPI
    assert put.json()["errors"][0]["code"] == "method-not-allowed"
    assert elsewhere.status_code == 404
    assert elsewhere.json() == _not_found("No such endpoint.")


def test_requests_past_the_organizations_limit_are_429_with_retry_after(
    rate_window, api, other_api, path, other_creds
):
    Organization.objects.filter(slug="demo").update(requests_per_minute=3)

    answers = [post_values(api, path, {"data": VENDOR_FOUR[:1]}).status_code for _ in range(3)]
    limited = post_values(api, path, {"data": VENDOR_FOUR[:1]})

    assert answers == [204, 202, 202]
    assert limited.status_code == 429
    assert limited["Content-Type"] == JSONAPI
    assert limited.json() == {
        "errors": [error(429, "too-many-requests", "Too many requests", "Too many requests.")]
    }
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert other_api.get(values_path(other_creds)).status_code == 200


def test_a_database_outage_is_503_with_retry_after_and_nothing_is_stored(api, path, creds):
    def refuse(execute, sql, params, many, context):
        if "timeseries_sample" in sql:
            raise OperationalError("the database is restarting")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        response = post_values(api, path, {"data": VENDOR_FOUR})

    assert response.status_code == 503
    assert response["Content-Type"] == JSONAPI
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": [
            error(503, "service-unavailable", "Service unavailable", "Service temporarily unavailable.")
        ]
    }
    assert stored(creds, *DAY_2022) == []
