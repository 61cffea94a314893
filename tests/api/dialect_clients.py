"""Clients and credentials of every dialect, for tests: the Authorization headers, the token
requests and a set of ready tokens per organization. tests/api and tests/reliability take them
from here, so a change to how a dialect issues tokens is made once."""

import base64
from dataclasses import dataclass

from rest_framework.test import APIClient

AUDIENCE = "https://horizon.siemens.com"  # Building X's token audience (settings.BUILDINGX_AUDIENCE)


def basic(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def authorized(header: str) -> APIClient:
    """A client sending `header` as its Authorization with every request."""
    return APIClient(HTTP_AUTHORIZATION=header)


def bearer(token: str) -> APIClient:
    """A client of Blynk, Building X or the EMS gateway holding `token`."""
    return authorized(f"Bearer {token}")


def iotorq_client(token: str) -> APIClient:
    """A client of ioTORQ holding the API token `token`."""
    return authorized(f"Token {token}")


# --- Blynk ---------------------------------------------------------------------------------------


def blynk_token_request(credentials: dict, **params):
    """POST /oauth2/token with the client authenticated by HTTP Basic, parameters in the query
    string (the vendor's examples); the response."""
    client = authorized(basic(credentials["client_id"], credentials["client_secret"]))
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.post(f"/oauth2/token?{query}")


def blynk_token(credentials: dict, **params) -> str:
    response = blynk_token_request(credentials, **params)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def blynk_org_token(credentials: dict) -> str:
    return blynk_token(credentials, grant_type="client_credentials")


def blynk_user_token(credentials: dict, username: str, password: str) -> str:
    return blynk_token(credentials, grant_type="user_credentials", username=username, password=password)


# --- Building X ----------------------------------------------------------------------------------


def buildingx_token_body(client_id: str, client_secret: str, **overrides) -> dict:
    """The vendor's token request body; an override of None leaves the member out."""
    body = {
        "client_id": client_id,
        "client_secret": client_secret,
        "audience": AUDIENCE,
        "grant_type": "client_credentials",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def buildingx_token(credentials: dict) -> str:
    body = buildingx_token_body(credentials["client_id"], credentials["client_secret"])
    response = APIClient().post("/oauth/token", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


# --- EMS gateway ---------------------------------------------------------------------------------


def ems_token(username: str, password: str, **extra) -> str:
    """A token from POST /v1/auth/login (`extra`: request headers, such as REMOTE_ADDR)."""
    response = APIClient().post(
        "/v1/auth/login", {"username": username, "password": password}, format="json", **extra
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


# --- every dialect -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """One organization's credentials of every kind the dialects issue."""

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
    """Tokens of every kind for a seeded organization (apps.inventory.demo.demo_seed)."""
    user = seed["blynk"]["user"]
    return Tokens(
        seed=seed,
        iotorq=seed["iotorq"]["token"],
        blynk=blynk_org_token(seed["blynk"]),
        blynk_user=blynk_user_token(seed["blynk"], user["username"], user["password"]),
        buildingx=buildingx_token(seed["buildingx"]),
        ems=ems_token(**seed["ems"]),
    )
