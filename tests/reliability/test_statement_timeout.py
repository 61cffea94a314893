"""Every dialect request runs under a statement timeout on PostgreSQL (API_STATEMENT_TIMEOUT_SECONDS):
a request whose statement runs past it is answered 503 with Retry-After in the dialect's error
shape instead of holding its worker, and the limit ends with the request.

The slow statements are real: a statement waiting for a lock another session holds on the
organizations every request authenticates against, and the rollup of a deep history page."""

from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.api.common.errors import STATEMENT_TIMEOUT_MESSAGE
from apps.inventory.models import Signal
from apps.tenancy.services import roles_sync
from tests.api.dialect_clients import tokens_for
from tests.worlds import world as world_build

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement_timeout")

EMS = {"error": STATEMENT_TIMEOUT_MESSAGE}
BLYNK = {"error": {"message": STATEMENT_TIMEOUT_MESSAGE}}
OAUTH = {"error": "temporarily_unavailable", "error_description": STATEMENT_TIMEOUT_MESSAGE}
JSONAPI = {
    "errors": [
        {
            "status": "503",
            "code": "service-unavailable",
            "title": "Service unavailable",
            "detail": STATEMENT_TIMEOUT_MESSAGE,
        }
    ]
}


@pytest.fixture
def committed(transactional_db):
    """The world organization, committed (another session can lock what it reads), and a token
    of every dialect. A transactional test's flush removes the shipped roles: synced first."""
    roles_sync()
    return tokens_for(world_build("demo"))


@contextmanager
def organizations_locked():
    """Another session holding an exclusive lock on the organization table, as a long migration
    or a forgotten transaction would. PostgreSQL ends that session after 5 s idle, so a request
    that waits for it without a statement timeout finishes (and the test fails) instead of
    hanging."""
    params = connection.get_connection_params()
    locker = psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"})
    try:
        locker.execute("SET idle_in_transaction_session_timeout = '5s'")
        locker.execute("LOCK TABLE tenancy_organization IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        locker.close()  # rolls the lock back, if PostgreSQL has not ended the session already


def get(path: str, authorization: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(path)


def post_json(path: str, **body):
    return APIClient().post(path, body, format="json")


@pytest.mark.parametrize(
    ("path", "credential", "body"),
    [
        ("/v1/devices", "ems", EMS),
        (
            "/api/v1/organization/device/datastream/history?deviceId=1&dataStreamId=1&from=0&to=1",
            "blynk",
            BLYNK,
        ),
        ("/ingest/partitions/{partition}/points/{point}/values", "buildingx", JSONAPI),
        ("/ems/api/import/1/", "iotorq", {"detail": STATEMENT_TIMEOUT_MESSAGE}),
    ],
)
def test_a_request_past_the_statement_timeout_is_a_503_in_its_dialects_shape(
    committed, settings, path, credential, body
):
    # given
    settings.API_STATEMENT_TIMEOUT_SECONDS = 0.2
    seed = committed.seed
    path = path.format(partition=seed["buildingx"]["partition_id"], point=seed["buildingx"]["point_id"])

    # when: authenticating waits for the locked organizations
    with organizations_locked():
        response = get(path, committed.header(credential))

    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == body


def test_token_endpoints_past_the_statement_timeout_answer_503_in_the_oauth_shape(committed, settings):
    # given
    settings.API_STATEMENT_TIMEOUT_SECONDS = 0.2
    seed = committed.seed

    # when
    with organizations_locked():
        login = post_json("/v1/auth/login", **seed["ems"])
        blynk_token = APIClient().post(
            "/oauth2/token?grant_type=client_credentials"
            f"&client_id={seed['blynk']['client_id']}&client_secret={seed['blynk']['client_secret']}"
        )
        buildingx_token = post_json(
            "/oauth/token",
            client_id=seed["buildingx"]["client_id"],
            client_secret=seed["buildingx"]["client_secret"],
            audience="https://horizon.siemens.com",
            grant_type="client_credentials",
        )

    # then
    assert [r.status_code for r in (login, blynk_token, buildingx_token)] == [503, 503, 503]
    assert [r["Retry-After"] for r in (login, blynk_token, buildingx_token)] == ["5", "5", "5"]
    assert [login.json(), blynk_token.json(), buildingx_token.json()] == [EMS, OAUTH, OAUTH]


def test_a_deep_history_page_past_the_statement_timeout_is_a_503(committed, settings):
    # given: a signal with 500,000 samples, one a minute, and a timeout well below what
    # counting 490,000 records to its last page takes
    signal = Signal.objects.get(organization__slug="demo", uid=100)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value)"
            " SELECT %s, g::bigint * 60000, g FROM generate_series(0, 499999) AS g",
            [signal.series_id],
        )
        cursor.execute("VACUUM ANALYZE timeseries_sample")
    settings.API_STATEMENT_TIMEOUT_SECONDS = 0.02

    # when
    response = get(
        f"/v1/signals/100/history?start=0&end={500_000 * 60_000}&limit=10000&page=50",
        committed.header("ems"),
    )

    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == EMS


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_the_limit_ends_with_the_request(committed, settings):
    # given
    settings.API_STATEMENT_TIMEOUT_SECONDS = 0.2

    # when
    with CaptureQueriesContext(connection) as queries:
        response = get("/v1/devices", committed.header("ems"))
    after = statement_timeout()

    # then: what runs next on the connection (the admin, a command, the test) has no such limit
    assert response.status_code == 200
    assert [q["sql"] for q in queries if "statement_timeout" in q["sql"]] == [
        "SELECT set_config('statement_timeout', '200ms', false)",
        "RESET statement_timeout",
    ]
    assert after == "0"
