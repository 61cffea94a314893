import base64
from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.inventory.models import DataStream
from apps.timeseries.query import samples_page


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(credentials: dict, **params):
    """POST /oauth2/token with the client authenticated by HTTP Basic, parameters in the query
    string (the vendor's examples)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]))
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.post(f"/oauth2/token?{query}")


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def org_token(credentials: dict) -> str:
    response = token_request(credentials, grant_type="client_credentials")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def user_token(credentials: dict, username: str, password: str) -> str:
    response = token_request(credentials, grant_type="user_credentials", username=username, password=password)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def api(world):
    """The world organization's Blynk client with an organization-level token."""
    return bearer(org_token(world["blynk"]))


@pytest.fixture
def user_api(world):
    """A token of the demo's Blynk user: owns device 1, holds only OWN_DEVICES_VIEW."""
    user = world["blynk"]["user"]
    return bearer(user_token(world["blynk"], user["username"], user["password"]))


@pytest.fixture
def other_api(other_world):
    """An organization-level token of another organization with the same uids."""
    return bearer(org_token(other_world["blynk"]))


# The vendor's import example was sent at about this time: its timestamps (1702656423136 and
# 1702656428136, 2023-12-15T16:07Z) are inside the one-month window.
NOW = datetime(2023, 12, 16, 12, 0, tzinfo=UTC)
NOW_MS = 1_702_728_000_000
DAY_MS = 86_400_000
EARLY_MS = NOW_MS - 10 * DAY_MS


@pytest.fixture
def clock():
    """Freeze time at NOW. Request it before `world`/`api` so they are made at NOW too."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def device_stream(organization_slug: str, device_uid: int, stream_id: int) -> DataStream:
    return DataStream.objects.select_related("series").get(
        organization__slug=organization_slug, device__uid=device_uid, stream_id=stream_id
    )


def history(stream: DataStream) -> list[tuple[int, float]]:
    """Every stored sample of a datastream's series, read with the store's own reader."""
    return [
        (row.ts, row.value)
        for row in samples_page(series_id=stream.series_id, start_ms=-(2**62), end_ms=2**62, limit=100_000)
    ]


@pytest.fixture
def world_parts():
    """The small worlds here hold the Blynk part (a test's `world` marker may ask for more)."""
    return {"blynk"}
