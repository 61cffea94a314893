"""A NUL character (U+0000) in what a client sends is the client's mistake, on every dialect.

PostgreSQL refuses any statement holding one, and that refusal used to be answered as an outage
(503 "database unavailable"); SQLite stores it. Each input below now gets the same answer on
both databases: a 400 in the dialect's shape, or, where it is a credential, exactly the answer a
wrong credential gets. And nothing is written.
"""

import logging
from urllib.parse import urlencode

import orjson
import pytest
from django.core.cache import cache
from django.db import DataError, OperationalError, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.access.models import RefreshToken
from apps.imports.models import ImportJob
from apps.inventory.models import DataStream
from tests.api.dialect_clients import AUDIENCE, basic
from tests.timeseries.helpers import store_snapshot

NUL = "\x00"
NUL_TEXTS = ["\x00", "v1\x00", "a\x00b", "\x00" * 3]
SERIES = {"datetime": [1], "val": [1]}


def written() -> list:
    """What any of these requests could have written: samples and latest values, import jobs,
    datastream values and properties, refresh tokens (issued with every Blynk token)."""
    return [
        store_snapshot(),
        sorted(ImportJob.objects.values_list("pk", flat=True)),
        list(DataStream.objects.order_by("pk").values_list("pk", "value", "value_updated_at", "properties")),
        RefreshToken.objects.count(),
    ]


@pytest.fixture
def sender(world, text_stream):
    """Sends one of the listed inputs holding `text`; returns the response."""
    blynk, buildingx = world["blynk"], world["buildingx"]
    iotorq = APIClient(HTTP_AUTHORIZATION=f"Token {world['iotorq']['token']}")
    client_auth = basic(blynk["client_id"], blynk["client_secret"])
    blynk_token = APIClient(HTTP_AUTHORIZATION=client_auth).post(
        "/oauth2/token?grant_type=client_credentials"
    )
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {blynk_token.json()['access_token']}")

    def token(query: dict, **headers):
        return APIClient(**headers).post(f"/oauth2/token?{urlencode(query)}")

    senders = {
        "iotorq meter code": lambda text: iotorq.generic(
            "POST",
            "/ems/api/import/",
            orjson.dumps(
                [{"id_type": "meter_code", "id_value": text, "series": {"datetime": [1], "val": [1]}}]
            ),
            content_type="application/json",
        ),
        "blynk pin": lambda text: bearer.get(
            "/api/v1/organization/device/datastream/history",
            {"deviceId": 101, "pin": text, "from": 0, "to": 1},
        ),
        "blynk username": lambda text: token(
            {"grant_type": "user_credentials", "username": text, "password": "x"},
            HTTP_AUTHORIZATION=client_auth,
        ),
        "blynk client_id": lambda text: token(
            {"grant_type": "client_credentials", "client_id": text, "client_secret": blynk["client_secret"]}
        ),
        "blynk client_id by HTTP Basic": lambda text: token(
            {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(text, blynk["client_secret"])
        ),
        "blynk property value": lambda text: bearer.post(
            "/api/v1/organization/device/datastream/property",
            {"deviceId": 101, "dataStreamId": 1, "property": "units", "value": text},
            format="json",
        ),
        "blynk string value": lambda text: bearer.post(
            "/api/v1/organization/device/datastream",
            {"deviceId": 101, "dataStreamId": 3, "value": text},
            format="json",
        ),
        "buildingx client_id": lambda text: APIClient().post(
            "/oauth/token",
            {
                "client_id": text,
                "client_secret": buildingx["client_secret"],
                "audience": AUDIENCE,
                "grant_type": "client_credentials",
            },
            format="json",
        ),
        "buildingx client_id by HTTP Basic": lambda text: APIClient(
            HTTP_AUTHORIZATION=basic(text, buildingx["client_secret"])
        ).post("/oauth/token", {"audience": AUDIENCE, "grant_type": "client_credentials"}, format="json"),
        "ems username": lambda text: APIClient().post(
            "/v1/auth/login", {"username": text, "password": world["ems"]["password"]}, format="json"
        ),
        "ems password": lambda text: APIClient().post(
            "/v1/auth/login", {"username": world["ems"]["username"], "password": text}, format="json"
        ),
    }
    return senders


# Each input's answer: status and exact body.
EXPECTED = {
    "iotorq meter code": (
        400,
        {
            "detail": "Invalid import.",
            "errors": [
                {
                    "index": 0,
                    "field": "id_value",
                    "message": "A meter code may not contain the NUL character (U+0000).",
                }
            ],
        },
    ),
    "blynk pin": (400, {"error": {"message": "'pin' may not contain the NUL character (U+0000)."}}),
    # Wrong user credentials are invalid_grant (400) in RFC 6749, and so in Blynk's token endpoint.
    "blynk username": (400, {"error": "invalid_grant", "error_description": "Wrong username or password."}),
    "blynk client_id": (
        401,
        {"error": "invalid_client", "error_description": "Unknown client or wrong client secret."},
    ),
    "blynk client_id by HTTP Basic": (
        401,
        {"error": "invalid_client", "error_description": "Unknown client or wrong client secret."},
    ),
    "blynk property value": (
        400,
        {"error": {"message": "'value' may not contain the NUL character (U+0000)."}},
    ),
    "blynk string value": (
        400,
        {
            "error": {
                "message": "'value' must be a string without the NUL character (U+0000) for datastream 3, "
                "a string datastream."
            }
        },
    ),
    "buildingx client_id": (401, {"error": "access_denied", "error_description": "Unauthorized"}),
    "buildingx client_id by HTTP Basic": (
        401,
        {"error": "access_denied", "error_description": "Unauthorized"},
    ),
    "ems username": (401, {"error": "Wrong username or password, or no API role."}),
    "ems password": (401, {"error": "Wrong username or password, or no API role."}),
}


@pytest.mark.parametrize("text", NUL_TEXTS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_nul_in_a_listed_input_is_the_dialects_400_or_wrong_credential_and_writes_nothing(
    sender, name, text
):
    before = written()

    response = sender[name](text)

    assert (response.status_code, response.json()) == EXPECTED[name]
    assert written() == before


def test_a_nul_in_a_credential_counts_as_a_failed_login(world):
    # Ten wrong logins with a NUL in the username lock that username out like any other ten.
    for _ in range(10):
        login = APIClient().post("/v1/auth/login", {"username": "a\x00", "password": "x"}, format="json")
        assert login.status_code == 401

    response = APIClient().post("/v1/auth/login", {"username": "a\x00", "password": "x"}, format="json")

    assert response.status_code == 429


def test_a_nul_in_a_multiple_values_update_or_batch_update_cell_is_skipped_like_any_misfit(
    world, text_stream
):
    # The Blynk rule for values that do not fit their datastream: skipped silently.
    api = APIClient(HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"]))
    token = api.post("/oauth2/token?grant_type=client_credentials").json()["access_token"]
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = written()

    many = bearer.post(
        "/api/v1/organization/device/datastreams", {"deviceId": 101, "values": {"3": "a\x00b"}}, format="json"
    )
    batch = bearer.post(
        "/api/v1/organization/product/devices/batch-update",
        {"fields": ["deviceId", "Status"], "updates": [[101, "a\x00b"]]},
        format="json",
    )

    assert (many.status_code, batch.status_code) == (204, 204)
    assert written() == before


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(sorted(EXPECTED)),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_any_text_holding_a_nul_gets_the_same_answer(sender, name, before, after):
    cache.clear()  # examples repeat credentials: no login throttle may build up between them
    text = before + NUL + after

    response = sender[name](text)

    assert (response.status_code, response.json()) == EXPECTED[name]


def test_a_data_error_that_slips_past_validation_is_a_400_logged_as_a_warning(world, caplog):
    # Given the database refusing a value (what a NUL in an unchecked field would do on
    # PostgreSQL), which is no outage
    def refuse(execute, sql, params, many, context):
        raise DataError("invalid byte sequence for encoding")

    with (
        caplog.at_level(logging.WARNING, logger="apps.api.common.errors"),
        connection.execute_wrapper(refuse),
    ):
        login = APIClient().post("/v1/auth/login", {"username": "admin", "password": "x"}, format="json")

    assert login.status_code == 400
    assert login.json() == {"error": "The request holds a value the database cannot take."}
    assert "Retry-After" not in login
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "apps.api.common.errors"] == [
        ("WARNING", "database refused a value: invalid byte sequence for encoding")
    ]


def test_an_outage_is_still_a_503(world):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is restarting")

    with connection.execute_wrapper(refuse):
        login = APIClient().post("/v1/auth/login", {"username": "admin", "password": "x"}, format="json")

    assert login.status_code == 503
    assert login["Retry-After"] == "5"
