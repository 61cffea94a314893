from datetime import UTC, datetime

import pytest
import time_machine

from apps.inventory.models import DataStream
from apps.timeseries.query import samples_page
from tests.api.dialect_clients import bearer, blynk_org_token, blynk_user_token


@pytest.fixture
def api(world):
    """The world organization's Blynk client with an organization-level token."""
    return bearer(blynk_org_token(world["blynk"]))


@pytest.fixture
def user_api(world):
    """A token of the demo's Blynk user: owns device 1, holds only OWN_DEVICES_VIEW."""
    user = world["blynk"]["user"]
    return bearer(blynk_user_token(world["blynk"], user["username"], user["password"]))


@pytest.fixture
def other_api(other_world):
    """An organization-level token of another organization with the same uids."""
    return bearer(blynk_org_token(other_world["blynk"]))


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
