"""POST /ems/api/import/ (API.md §1): the vendor's example, conflicts, time units, every 400."""

import time

import pytest
from django.db import OperationalError, connection

from apps.access.models import ApiToken
from apps.imports.models import ImportJob
from apps.timeseries.models import Series
from tests.timeseries.helpers import store_snapshot

from .conftest import IMPORT_URL, stored

T0 = 1494880000
T0_MS = T0 * 1000
VENDOR_EXAMPLE = [
    {
        "id_type": "meter_code",
        "id_value": "my_meter_code1",
        "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [1, 2, 3]},
    },
    {
        "id_type": "meter_code",
        "id_value": "my_meter_code2",
        "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [2.0, 5.5, 4.1]},
    },
]


def item(id_value="my_meter_code1", datetime=(T0,), val=(1.0,), id_type="meter_code", **extra) -> dict:
    series = {"datetime": list(datetime), "val": list(val)}
    return {"id_type": id_type, "id_value": id_value, "series": series, **extra}


@pytest.fixture
def code1(world) -> int:
    return world["iotorq"]["variable_ids"][0]


@pytest.fixture
def code2(world) -> int:
    return world["iotorq"]["variable_ids"][1]


def test_the_vendors_example_imports_six_points_that_read_back_exactly(api, world, code1, code2):
    response = api.post(VENDOR_EXAMPLE)

    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert response.json() == {"job": str(job.pk), "status": "queued", "variables": 2, "points": 6}
    assert response.headers["Location"] == f"/ems/api/import/{job.pk}/"
    window = (T0_MS, T0_MS + 200_000)
    assert stored(code1, *window) == [(T0_MS, 1.0), (T0_MS + 60_000, 2.0), (T0_MS + 120_000, 3.0)]
    assert stored(code2, *window) == [(T0_MS, 2.0), (T0_MS + 60_000, 5.5), (T0_MS + 120_000, 4.1)]
    job.refresh_from_db()
    assert (job.status, job.points, job.written, job.variables) == ("done", 6, 6, 2)
    assert job.user.username == world["admin"]["username"]
    assert job.token == ApiToken.objects.get(organization__slug="demo", revoked_at=None)
    assert (job.dialect, job.series_ids) == ("iotorq", sorted([code1, code2]))


@pytest.mark.django_db(transaction=True)
def test_with_tasks_in_process_the_202_already_reports_the_job_done(committed_world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {committed_world['iotorq']['token']}")

    response = client.post(IMPORT_URL, VENDOR_EXAMPLE, format="json")

    assert response.status_code == 202
    assert response.json()["status"] == "done"
    assert ImportJob.objects.get().written == 6


def test_import_overwrites_stored_values(api, code1):
    api.post([item(datetime=[T0, T0 + 60], val=[1.0, 2.0])])

    response = api.post([item(datetime=[T0 + 60, T0 + 120], val=[20.0, 30.0])])

    assert response.status_code == 202
    assert stored(code1, T0_MS, T0_MS + 200_000) == [
        (T0_MS, 1.0),
        (T0_MS + 60_000, 20.0),
        (T0_MS + 120_000, 30.0),
    ]


def test_the_latest_sample_of_a_variable_follows_the_import(api, code1):
    later = int(time.time())  # now: at or after the demo's samples (a later time is not current yet)

    api.post([item(datetime=[later, later - 60], val=[7.5, 1.0])])

    assert Series.objects.values_list("last_ts", "last_value").get(pk=code1) == (later * 1000, 7.5)


def test_within_one_request_the_last_occurrence_of_a_timestamp_wins(api, code1):
    body = [
        item(datetime=[T0, T0, T0 + 60], val=[1.0, 2.0, 3.0]),
        item(id_type="pk", id_value=code1, datetime=[T0 + 60, T0 + 120], val=[4.0, 5.0]),
        item(datetime=[T0 + 120], val=[6.0]),
    ]

    response = api.post(body)

    assert response.json()["points"] == 6
    assert response.json()["variables"] == 1
    assert stored(code1, T0_MS, T0_MS + 200_000) == [
        (T0_MS, 2.0),
        (T0_MS + 60_000, 4.0),
        (T0_MS + 120_000, 6.0),
    ]
    assert ImportJob.objects.get().written == 6


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(lambda i: i["series"].update(time_unit="ms"), id="inside series"),
        pytest.param(lambda i: i.update(time_unit="ms"), id="at item level"),
        pytest.param(
            lambda i: (i.update(time_unit="ms"), i["series"].update(time_unit="ms")), id="both, agreeing"
        ),
    ],
)
def test_millisecond_timestamps_with_time_unit(api, code1, where):
    body = item(datetime=[T0_MS + 1, T0_MS + 2], val=[1.0, 2.0])
    where(body)

    assert api.post([body]).status_code == 202

    assert stored(code1, T0_MS, T0_MS + 1000) == [(T0_MS + 1, 1.0), (T0_MS + 2, 2.0)]


def test_seconds_is_the_default_and_may_be_given(api, code1, code2):
    body = [item(datetime=[T0]), item("my_meter_code2", datetime=[T0])]
    body[1]["series"]["time_unit"] = "s"

    assert api.post(body).status_code == 202

    assert stored(code1, T0_MS, T0_MS + 1) == [(T0_MS, 1.0)]
    assert stored(code2, T0_MS, T0_MS + 1) == [(T0_MS, 1.0)]


def test_fractional_seconds_convert_to_exact_milliseconds(api, code1):
    seconds = [1494880000.123, 1494880000.001, 1494880000.999, 1494880001.5, 1494880002.1, 1494880003.3]

    api.post([item(datetime=seconds, val=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])])

    assert [ts for ts, _ in stored(code1, T0_MS, T0_MS + 10_000)] == [
        1494880000001,
        1494880000123,
        1494880000999,
        1494880001500,
        1494880002100,
        1494880003300,
    ]


def test_finer_fractions_of_a_second_are_truncated_to_the_millisecond(api, code1):
    api.post([item(datetime=[1494880000.1239, 1494880000.0004], val=[1.0, 2.0])])

    assert stored(code1, T0_MS, T0_MS + 1000) == [(T0_MS, 2.0), (T0_MS + 123, 1.0)]


def test_fractional_milliseconds_are_truncated(api, code1):
    api.post([item(datetime=[T0_MS + 5.7], val=[1.0], time_unit="ms")])

    assert stored(code1, T0_MS, T0_MS + 1000) == [(T0_MS + 5, 1.0)]


def test_integers_and_floats_may_be_mixed_in_one_list(api, code1):
    api.post([item(datetime=[T0, 1494880060.25], val=[1, 2.5])])

    assert stored(code1, T0_MS, T0_MS + 100_000) == [(T0_MS, 1.0), (T0_MS + 60_250, 2.5)]


@pytest.mark.parametrize("as_text", [False, True], ids=["integer", "string of digits"])
def test_pk_names_a_variable_by_its_id(api, code2, as_text):
    value = str(code2) if as_text else code2

    response = api.post([item(id_type="pk", id_value=value, datetime=[T0], val=[9.0])])

    assert response.status_code == 202
    assert stored(code2, T0_MS, T0_MS + 1) == [(T0_MS, 9.0)]


def test_a_meter_code_given_as_a_number_is_read_as_text(api, world):
    organization = Series.objects.get(pk=world["iotorq"]["variable_ids"][0]).organization
    series = Series.objects.create(organization=organization, name="Numbered", meter_code="4711")

    response = api.post([item(id_value=4711)])

    assert response.status_code == 202
    assert stored(series.pk) == [(T0_MS, 1.0)]


def test_unknown_keys_and_duplicate_keys_are_accepted(api, code1):
    body = (
        b'[{"id_type": "meter_code", "id_value": "nope", "id_value": "my_meter_code1", "note": "x",'
        b' "series": {"datetime": [1494880000], "val": [5], "unit": "kW"}}]'
    )

    assert api.post(body).status_code == 202

    assert stored(code1, T0_MS, T0_MS + 1) == [(T0_MS, 5.0)]


def test_json_with_a_charset_is_json(api):
    assert api.post(VENDOR_EXAMPLE, content_type="application/json; charset=utf-8").status_code == 202


def test_the_path_without_the_trailing_slash_imports_too(api, code1):
    with api.capture(execute=True):
        response = api.client.post("/ems/api/import", [item()], format="json")

    assert response.status_code == 202
    assert stored(code1, T0_MS, T0_MS + 1) == [(T0_MS, 1.0)]


# --- every invalid case: 400 in the dialect's shape, nothing stored --------------------------------


def raw_values(text: bytes) -> bytes:
    """A body whose one value is `text`, verbatim (NaN and Infinity are not JSON)."""
    return (
        b'[{"id_type": "meter_code", "id_value": "my_meter_code1", "series": {"datetime": [0], "val": [%s]}}]'
        % text
    )


BAD = {
    "empty list": (b"[]", None, None, "Expected a list of variables, not an empty list."),
    "an object": ({"id_type": "pk"}, None, None, "Expected a list of variables, not an object."),
    "empty body": (b"", None, None, "The request body is empty."),
    "item not an object": ([item(), 5], 1, None, "Expected an object, not a number."),
    "id_type missing": (
        [{"id_value": "my_meter_code1", "series": item()["series"]}],
        0,
        "id_type",
        "This field is required.",
    ),
    "id_type unknown": ([item(id_type="name")], 0, "id_type", 'Expected "meter_code" or "pk".'),
    "id_value missing": (
        [{"id_type": "pk", "series": item()["series"]}],
        0,
        "id_value",
        "This field is required.",
    ),
    "id_value null": ([item(id_value=None)], 0, "id_value", "This field is required."),
    "meter code a boolean": (
        [item(id_value=True)],
        0,
        "id_value",
        "Expected a meter code (a string of 1 to 100 characters).",
    ),
    "meter code a list": (
        [item(id_value=["a"])],
        0,
        "id_value",
        "Expected a meter code (a string of 1 to 100 characters).",
    ),
    "meter code too long": (
        [item(id_value="x" * 101)],
        0,
        "id_value",
        "Expected a meter code (a string of 1 to 100 characters).",
    ),
    "meter code empty": (
        [item(id_value="")],
        0,
        "id_value",
        "Expected a meter code (a string of 1 to 100 characters).",
    ),
    "pk negative": (
        [item(id_type="pk", id_value=-1)],
        0,
        "id_value",
        "Expected a variable id (a positive integer).",
    ),
    "pk a float": (
        [item(id_type="pk", id_value=1.5)],
        0,
        "id_value",
        "Expected a variable id (a positive integer).",
    ),
    "pk a boolean": (
        [item(id_type="pk", id_value=True)],
        0,
        "id_value",
        "Expected a variable id (a positive integer).",
    ),
    "pk not digits": (
        [item(id_type="pk", id_value="12a")],
        0,
        "id_value",
        "Expected a variable id (a positive integer).",
    ),
    "pk too large": (
        [item(id_type="pk", id_value=2**63)],
        0,
        "id_value",
        "Expected a variable id (a positive integer).",
    ),
    "unknown meter code": (
        [item(), item(id_value="nope")],
        1,
        "id_value",
        "No variable with meter code 'nope' exists.",
    ),
    "unknown pk": (
        [item(id_type="pk", id_value=999_999_999)],
        0,
        "id_value",
        "No variable with id 999999999 exists.",
    ),
    "series missing": (
        [{"id_type": "meter_code", "id_value": "my_meter_code1"}],
        0,
        "series",
        "This field is required.",
    ),
    "series a list": ([item() | {"series": [1]}], 0, "series", "Expected an object, not a list."),
    "datetime missing": (
        [item() | {"series": {"val": [1]}}],
        0,
        "series.datetime",
        "This field is required.",
    ),
    "datetime not a list": (
        [item() | {"series": {"datetime": T0, "val": [1]}}],
        0,
        "series.datetime",
        "Expected a list of numbers, not a number.",
    ),
    "val missing": ([item() | {"series": {"datetime": [T0]}}], 0, "series.val", "This field is required."),
    "val a string": (
        [item() | {"series": {"datetime": [T0], "val": "1"}}],
        0,
        "series.val",
        "Expected a list of numbers, not a string.",
    ),
    "one list empty": (
        [item(datetime=[], val=[1])],
        0,
        "series.val",
        "Expected as many values as timestamps: 1 value, 0 timestamps.",
    ),
    "both lists empty": (
        [item(), item(datetime=[], val=[])],
        1,
        "series",
        "Expected at least one timestamp and value.",
    ),
    "value a boolean": (
        [item(datetime=[T0, T0 + 1], val=[1, True])],
        0,
        "series.val",
        "Element 1 is a boolean, not a number.",
    ),
    "value a numeric string": ([item(val=["1.5"])], 0, "series.val", "Element 0 is a string, not a number."),
    "value null": ([item(val=[None])], 0, "series.val", "Element 0 is null, not a number."),
    "value a list": ([item(val=[[1]])], 0, "series.val", "Element 0 is a list, not a number."),
    "timestamp a boolean": (
        [item(datetime=[False])],
        0,
        "series.datetime",
        "Element 0 is a boolean, not a number.",
    ),
    "timestamp a string": (
        [item(datetime=["2017-05-15T20:26:40Z"])],
        0,
        "series.datetime",
        "Element 0 is a string, not a number.",
    ),
    "timestamp negative": (
        [item(datetime=[-1])],
        0,
        "series.datetime",
        "Element 0 is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC.",
    ),
    "timestamp past 9999 in s": (
        [item(datetime=[253402300800])],
        0,
        "series.datetime",
        "Element 0 is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC.",
    ),
    "timestamp past 9999 in ms": (
        [item(datetime=[253402300800000], time_unit="ms")],
        0,
        "series.datetime",
        "Element 0 is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC.",
    ),
    "timestamp beyond 64 bits": (
        b'[{"id_type": "pk", "id_value": 1, "series": {"datetime": [18446744073709551617], "val": [1]}}]',
        0,
        "series.datetime",
        "Element 0 is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC.",
    ),
    "fractional timestamp negative": (
        [item(datetime=[-0.5])],
        0,
        "series.datetime",
        "Element 0 is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC.",
    ),
    "time_unit unknown": ([item() | {"time_unit": "h"}], 0, "time_unit", 'Expected "s" or "ms".'),
    "series.time_unit a number": (
        [item() | {"series": {"datetime": [T0], "val": [1], "time_unit": 1000}}],
        0,
        "series.time_unit",
        'Expected "s" or "ms".',
    ),
    "series.time_unit a list": (
        [item() | {"series": {"datetime": [T0], "val": [1], "time_unit": ["ms"]}}],
        0,
        "series.time_unit",
        'Expected "s" or "ms".',
    ),
    "time units contradict": (
        [item(time_unit="s") | {"series": {"datetime": [T0], "val": [1], "time_unit": "ms"}}],
        0,
        "time_unit",
        'Contradicts series.time_unit: give the unit once, "s" or "ms".',
    ),
    "NaN": (
        raw_values(b"NaN"),
        None,
        None,
        None,
    ),
    "Infinity": (
        raw_values(b"Infinity"),
        None,
        None,
        None,
    ),
    "1e400": (
        raw_values(b"1e400"),
        None,
        None,
        None,
    ),
    "malformed JSON": (b'[{"id_type": "meter_code",', None, None, None),
}


@pytest.mark.parametrize(("body", "index", "field", "message"), BAD.values(), ids=BAD.keys())
def test_invalid_imports_are_400_naming_index_and_field_and_store_nothing(api, body, index, field, message):
    before = store_snapshot()

    response = api.post(body)

    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"] == "Invalid import."
    assert len(payload["errors"]) == 1
    error = payload["errors"][0]
    assert (error["index"], error["field"]) == (index, field)
    if message is None:  # the parser's own words, after ours
        assert error["message"].startswith("Malformed JSON: ")
    else:
        assert error["message"] == message
    assert store_snapshot() == before
    assert not ImportJob.objects.exists()


def test_every_bad_item_is_listed_in_order_of_its_index(api):
    body = [
        item(),
        item(id_type="pk", id_value="x", val=[True]),
        item(datetime=[T0, T0 + 1], val=[1, "2"]),
        7,
    ]

    response = api.post(body)

    assert response.json() == {
        "detail": "Invalid import.",
        "errors": [
            {"index": 1, "field": "id_value", "message": "Expected a variable id (a positive integer)."},
            {"index": 1, "field": "series.val", "message": "Element 0 is a boolean, not a number."},
            {"index": 2, "field": "series.val", "message": "Element 1 is a string, not a number."},
            {"index": 3, "field": None, "message": "Expected an object, not a number."},
        ],
    }


def test_every_unknown_variable_is_listed(api):
    response = api.post([item("a"), item(), item(id_type="pk", id_value=999_999_999)])

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "id_value"), (2, "id_value")]


def test_at_most_100_errors_are_listed(api):
    response = api.post([item(val=[None])] * 250)

    errors = response.json()["errors"]
    assert len(errors) == 100
    assert [e["index"] for e in errors] == list(range(100))


def test_at_most_100_unknown_variables_are_listed(api):
    # All 22,000 of a 2 MB import were: a 2 MB answer, 1 s to build it.
    response = api.post([item(f"nope-{i}") for i in range(250)])

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert len(errors) == 100
    assert errors[-1] == {
        "index": 99,
        "field": "id_value",
        "message": "No variable with meter code 'nope-99' exists.",
    }


# --- size, media type ------------------------------------------------------------------------


def padded(body: list, size: int) -> bytes:
    """`body` as JSON padded with whitespace to exactly `size` bytes."""
    import orjson

    raw = orjson.dumps(body)
    return raw[:-1] + b" " * (size - len(raw)) + b"]"


def test_a_body_of_exactly_2_mb_is_accepted(api):
    body = padded(VENDOR_EXAMPLE, 2_097_152)
    assert len(body) == 2_097_152

    assert api.post(body).status_code == 202


def test_a_body_one_byte_over_2_mb_is_413_before_parsing(api):
    # Not JSON at all: a parser would have answered 400.
    response = api.post(b"x" * 2_097_153)

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than 2097152 bytes."}
    assert not ImportJob.objects.exists()


def test_the_size_limit_is_checked_before_the_credentials(world, client):
    response = client.generic("POST", IMPORT_URL, b"x" * 2_097_153, content_type="application/json")

    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_declared_json_is_415(api, content_type):
    response = api.post(VENDOR_EXAMPLE, content_type=content_type)

    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert not ImportJob.objects.exists()


def test_a_body_without_content_type_is_415(api):
    response = api.post(VENDOR_EXAMPLE, content_type="")

    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "(none)" in request.'}


def test_get_on_the_import_path_is_405(api):
    response = api.get(IMPORT_URL)

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


# --- tenancy -------------------------------------------------------------------------------------


def test_another_organizations_token_cannot_touch_this_organizations_variables(api, other_api, code1):
    before = stored(code1)

    by_pk = other_api.post([item(id_type="pk", id_value=code1)])
    missing = other_api.post([item(id_type="pk", id_value=999_999_999)])

    assert by_pk.status_code == missing.status_code == 400
    assert by_pk.json()["errors"] == [
        {"index": 0, "field": "id_value", "message": f"No variable with id {code1} exists."}
    ]
    assert missing.json()["errors"] == [
        {"index": 0, "field": "id_value", "message": "No variable with id 999999999 exists."}
    ]
    assert stored(code1) == before


def test_a_meter_code_names_the_callers_own_variable(api, other_api, other_world, code1):
    before = stored(code1)

    response = other_api.post([item(val=[42.0])])

    assert response.status_code == 202
    assert stored(code1) == before
    assert stored(other_world["iotorq"]["variable_ids"][0], T0_MS, T0_MS + 1) == [(T0_MS, 42.0)]


def test_a_database_outage_is_503_with_retry_after_in_the_dialect_shape(api):
    def refuse(execute, sql, params, many, context):
        if "imports_importjob" in sql:
            raise OperationalError("the database is restarting")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        response = api.post(VENDOR_EXAMPLE)

    assert response.status_code == 503
    assert response.json() == {"detail": "Service temporarily unavailable."}
    assert response.headers["Retry-After"] == "5"
    assert not ImportJob.objects.exists()
