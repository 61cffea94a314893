"""Credentials of every dialect for the two world organizations (`world` = A, `other_world` = B),
as ready-to-send Authorization headers."""

import base64
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.api.endpoints import HTTP_METHODS, endpoints  # noqa: F401 (HTTP_METHODS: re-exported)

AUDIENCE = "https://horizon.siemens.com"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def blynk_token(credentials: dict, **params) -> str:
    """An access token from POST /oauth2/token (client by HTTP Basic, parameters in the query)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(credentials["client_id"], credentials["client_secret"]))
    query = "&".join(f"{name}={value}" for name, value in params.items())
    response = client.post(f"/oauth2/token?{query}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def buildingx_token(credentials: dict) -> str:
    body = {
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "audience": AUDIENCE,
        "grant_type": "client_credentials",
    }
    response = APIClient().post("/oauth/token", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def ems_token(credentials: dict) -> str:
    response = APIClient().post("/v1/auth/login", credentials, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


@dataclass(frozen=True)
class Tokens:
    """One organization's credentials: the raw secrets `seed_demo` printed and a token of every
    kind the dialects issue."""

    seed: dict
    iotorq: str
    blynk: str
    blynk_user: str
    buildingx: str
    ems: str

    def header(self, kind: str) -> str:
        """The Authorization header carrying the credential `kind` (a field name)."""
        value = getattr(self, kind)
        return f"Token {value}" if kind == "iotorq" else f"Bearer {value}"


def tokens_for(seed: dict) -> Tokens:
    user = seed["blynk"]["user"]
    return Tokens(
        seed=seed,
        iotorq=seed["iotorq"]["token"],
        blynk=blynk_token(seed["blynk"], grant_type="client_credentials"),
        blynk_user=blynk_token(
            seed["blynk"], grant_type="user_credentials", username=user["username"], password=user["password"]
        ),
        buildingx=buildingx_token(seed["buildingx"]),
        ems=ems_token(seed["ems"]),
    )


@pytest.fixture
def tokens_a(world) -> Tokens:
    return tokens_for(world)


@pytest.fixture
def tokens_b(other_world) -> Tokens:
    return tokens_for(other_world)


def dialect_endpoints() -> set[tuple[str, str]]:
    """(METHOD, route) for every action of every viewset in `apps.api` (tests/api/endpoints.py)."""
    return {(endpoint.method, endpoint.route) for endpoint in endpoints()}
