import pytest
from rest_framework.test import APIClient


def login(username: str, password: str, **extra) -> str:
    response = APIClient().post(
        "/v1/auth/login", {"username": username, "password": password}, format="json", **extra
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.fixture
def api(world):
    """A client logged in as the demo's EMS user (the vendor's admin / s3cret!)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login('admin', 's3cret!')}")
    return client


@pytest.fixture
def other_api(other_world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(**other_world['ems'])}")
    return client


@pytest.fixture
def world_parts():
    """The small worlds here hold the Carlo Gavazzi EMS part (a test's `world` marker may ask for more)."""
    return {"gavazzi"}
