import orjson
import pytest
from rest_framework.test import APIClient

from tests.api.dialect_clients import iotorq_client
from tests.worlds import world as world_build

IMPORT_URL = "/ems/api/import/"


class ImportClient:
    """Posts raw JSON bodies to the import endpoint. The job runs when the request's transaction
    commits, which inside a test's transaction happens only when the callbacks are run: `post`
    runs them, as a real commit would, after the response."""

    def __init__(self, client: APIClient, capture):
        self.client = client
        self.capture = capture

    def post(self, body, *, content_type: str = "application/json", run: bool = True, **extra):
        data = body if isinstance(body, bytes | str) else orjson.dumps(body)
        with self.capture(execute=run):
            return self.client.generic("POST", IMPORT_URL, data, content_type=content_type, **extra)

    def get(self, path: str, **extra):
        return self.client.get(path, **extra)


@pytest.fixture
def committed_world(transactional_db):
    """The small world (tests/worlds.py) in a transactional test (committed, seen by other
    processes). An earlier transactional test's flush removed the shipped roles: they are synced
    first, as their data migration does (tests/browser does the same)."""
    from apps.tenancy.services import roles_sync

    roles_sync()
    return world_build("demo")


@pytest.fixture
def api(world, django_capture_on_commit_callbacks):
    """The ioTORQ client of the small world's organization "demo" (a key of its admin)."""
    return ImportClient(iotorq_client(world["iotorq"]["token"]), django_capture_on_commit_callbacks)


@pytest.fixture
def other_api(other_world, django_capture_on_commit_callbacks):
    """A client of another organization whose variables carry the same meter codes."""
    return ImportClient(iotorq_client(other_world["iotorq"]["token"]), django_capture_on_commit_callbacks)


def stored(series_id: int, start_ms: int = 0, end_ms: int = 2**62) -> list[tuple[int, float]]:
    """A series' samples in [start_ms, end_ms) as (ts, value), read straight from the table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value FROM timeseries_sample"
            " WHERE series_id = %s AND ts >= %s AND ts < %s ORDER BY ts",
            [series_id, start_ms, end_ms],
        )
        return [tuple(row) for row in cursor.fetchall()]


@pytest.fixture
def world_parts():
    """The small worlds here hold the ioTORQ part (a test's `world` marker may ask for more)."""
    return {"iotorq"}
