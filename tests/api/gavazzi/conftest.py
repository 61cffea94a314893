import pytest

from tests.api.dialect_clients import bearer, ems_token


@pytest.fixture
def api(world):
    """A client logged in as the demo's EMS user (the vendor's admin / s3cret!)."""
    return bearer(ems_token("admin", "s3cret!"))


@pytest.fixture
def other_api(other_world):
    return bearer(ems_token(**other_world["ems"]))


@pytest.fixture
def world_parts():
    """The small worlds here hold the Carlo Gavazzi EMS part (a test's `world` marker may ask for more)."""
    return {"gavazzi"}
