from datetime import UTC, datetime, timedelta

import orjson
import pytest
from rest_framework.test import APIClient

from apps.inventory.models import Point
from apps.timeseries.query import samples_after
from tests.api.dialect_clients import bearer, buildingx_token

JSONAPI = "application/vnd.api+json"


def values_path(credentials: dict, *, partition_id: str | None = None, point_id: str | None = None) -> str:
    partition_id = partition_id or credentials["partition_id"]
    point_id = point_id or credentials["point_id"]
    return f"/ingest/partitions/{partition_id}/points/{point_id}/values"


def post_values(client: APIClient, path: str, document, *, content_type: str = JSONAPI):
    body = document if isinstance(document, bytes | str) else orjson.dumps(document)
    return client.post(path, data=body, content_type=content_type)


def point_value(timestamp: str, value="12.66", **attributes) -> dict:
    return {"type": "PointValue", "attributes": {"timestamp": timestamp, "value": value, **attributes}}


def resource(timestamp: str, value: str, **attributes) -> dict:
    """A PointValue resource as the server returns it: its `id` is its UTC timestamp to the
    millisecond (`timestamp` here is already in that form)."""
    return {"id": timestamp, **point_value(timestamp, value, **attributes)}


def stored(credentials: dict, start_ms: int, end_ms: int) -> list[tuple]:
    """The world point's stored samples in [start_ms, end_ms) as (ts, value, quality)."""
    point = Point.objects.get(uuid=credentials["point_id"])
    return [
        tuple(row)
        for row in samples_after(series_id=point.series_id, start_ms=start_ms, end_ms=end_ms, limit=10_000)
    ]


@pytest.fixture
def creds(world):
    return world["buildingx"]


@pytest.fixture
def api(creds):
    """A client holding a token of the demo's Building X machine user."""
    return bearer(buildingx_token(creds))


@pytest.fixture
def path(creds):
    return values_path(creds)


@pytest.fixture
def other_creds(other_world):
    return other_world["buildingx"]


@pytest.fixture
def other_api(other_creds):
    return bearer(buildingx_token(other_creds))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(text: str) -> int:
    """Epoch ms of an ISO 8601 text with an offset, computed independently of the dialect."""
    return (datetime.fromisoformat(text) - _EPOCH) // timedelta(milliseconds=1)


@pytest.fixture
def world_parts():
    """The small worlds here hold the Building X part (a test's `world` marker may ask for more)."""
    return {"buildingx"}
