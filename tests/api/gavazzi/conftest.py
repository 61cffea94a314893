import pytest

from tests.api.dialect_clients import bearer, ems_token


@pytest.fixture
def api(demo):
    """A client logged in as the demo's EMS user (the vendor's admin / s3cret!)."""
    return bearer(ems_token("admin", "s3cret!"))


@pytest.fixture
def other_api(other_demo):
    return bearer(ems_token(**other_demo["ems"]))
