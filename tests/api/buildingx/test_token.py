"""POST /oauth/token: client credentials of a machine user for a JWT (API.md §3)."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import Dialect, OAuthClient
from apps.access.tokens import jwt_issue
from apps.tenancy.models import Organization
from tests.api.dialect_clients import AUDIENCE, bearer, buildingx_token, buildingx_token_body
from tests.worlds import ALL as WORLD_ALL

UNAUTHORIZED = {"error": "access_denied", "error_description": "Unauthorized"}


def test_the_vendor_token_request_gives_a_bearer_jwt_valid_a_day_without_refresh_token(creds, path):
    response = APIClient().post(
        "/oauth/token", buildingx_token_body(creds["client_id"], creds["client_secret"]), format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86_400
    assert body["access_token"].count(".") == 2
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert bearer(body["access_token"]).get(path).status_code == 200


def test_the_token_expires_after_expires_in(creds, path):
    client = bearer(buildingx_token(creds))

    with time_machine.travel(timedelta(seconds=86_399)):
        assert client.get(path).status_code == 200
    with time_machine.travel(timedelta(seconds=86_401)):
        expired = client.get(path)

    assert expired.status_code == 401
    assert expired.json()["errors"][0]["code"] == "unauthorized"


def test_the_lifetime_and_the_audience_are_settings(creds, path, settings):
    settings.BUILDINGX_TOKEN_LIFETIME_SECONDS = 120
    settings.BUILDINGX_AUDIENCE = "https://ems.example.com"

    old_audience = APIClient().post(
        "/oauth/token", buildingx_token_body(creds["client_id"], creds["client_secret"]), format="json"
    )
    response = APIClient().post(
        "/oauth/token",
        buildingx_token_body(creds["client_id"], creds["client_secret"], audience="https://ems.example.com"),
        format="json",
    )

    assert old_audience.status_code == 400
    assert response.status_code == 200
    assert response.json()["expires_in"] == 120
    client = bearer(response.json()["access_token"])
    with time_machine.travel(timedelta(seconds=119)):
        assert client.get(path).status_code == 200
    with time_machine.travel(timedelta(seconds=121)):
        assert client.get(path).status_code == 401


def test_a_form_encoded_token_request_is_accepted_too(creds):
    response = APIClient().post(
        "/oauth/token",
        urlencode(buildingx_token_body(creds["client_id"], creds["client_secret"])),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.json()["expires_in"] == 86_400


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_secret": "wrong"},
        {"client_id": "nobody"},
    ],
    ids=["wrong secret", "unknown client"],
)
def test_wrong_credentials_are_401_access_denied(creds, overrides):
    body = {**buildingx_token_body(creds["client_id"], creds["client_secret"]), **overrides}

    response = APIClient().post("/oauth/token", body, format="json")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.world("buildingx", "blynk")
def test_a_blynk_client_cannot_get_a_building_x_token(world):
    response = APIClient().post(
        "/oauth/token",
        buildingx_token_body(world["blynk"]["client_id"], world["blynk"]["client_secret"]),
        format="json",
    )

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(creds, api, path):
    OAuthClient.objects.filter(client_id=creds["client_id"]).update(revoked_at=timezone.now())

    response = APIClient().post(
        "/oauth/token", buildingx_token_body(creds["client_id"], creds["client_secret"]), format="json"
    )

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert api.get(path).status_code == 401


@pytest.mark.parametrize("field", ["client_id", "client_secret", "audience", "grant_type"])
def test_a_missing_field_is_400_invalid_request_naming_it(creds, field):
    body = buildingx_token_body(creds["client_id"], creds["client_secret"])
    del body[field]

    response = APIClient().post("/oauth/token", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Missing required parameter: {field}",
    }


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"grant_type": "password"}, "Unsupported grant_type: only 'client_credentials' is accepted."),
        (
            {"audience": "https://example.com"},
            f"Unknown audience: the audience must be '{AUDIENCE}'.",
        ),
        ({"client_secret": 12345}, "The client_secret parameter must be a string."),
        ({"client_id": ["a"]}, "The client_id parameter must be a string."),
    ],
)
def test_a_malformed_field_is_400_invalid_request(creds, overrides, description):
    body = {**buildingx_token_body(creds["client_id"], creds["client_secret"]), **overrides}

    response = APIClient().post("/oauth/token", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_malformed_bodies_wrong_media_types_and_large_bodies_get_the_oauth_shape(creds):
    client = APIClient()

    malformed = client.post("/oauth/token", data="{", content_type="application/json")
    array = client.post("/oauth/token", data="[1]", content_type="application/json")
    wrong_type = client.post("/oauth/token", data="client_id=x", content_type="text/plain")
    no_type = client.generic("POST", "/oauth/token", b'{"client_id": "x"}', content_type="")
    too_large = client.post(
        "/oauth/token", buildingx_token_body(creds["client_id"], "x" * 17_000), format="json"
    )

    assert (malformed.status_code, malformed.json()["error"]) == (400, "invalid_request")
    assert array.json() == {
        "error": "invalid_request",
        "error_description": "The request body must be a JSON object.",
    }
    assert wrong_type.status_code == 415
    assert wrong_type.json() == {
        "error": "invalid_request",
        "error_description": "Content-Type must be application/json (or application/x-www-form-urlencoded).",
    }
    assert no_type.status_code == 415
    assert too_large.status_code == 413
    assert too_large.json() == {
        "error": "invalid_request",
        "error_description": "Request body is larger than 16384 bytes.",
    }


def test_other_methods_are_405_in_the_oauth_shape(world):
    response = APIClient().get("/oauth/token")

    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


@pytest.mark.world(*WORLD_ALL)
def test_tokens_of_other_dialects_are_refused(world, path):
    organization = Organization.objects.get(slug="demo")
    client_row = OAuthClient.objects.get(client_id=world["blynk"]["client_id"])
    for dialect in (Dialect.BLYNK, Dialect.GAVAZZI):
        token = jwt_issue(dialect=dialect, organization=organization, client=client_row, lifetime_seconds=60)
        assert bearer(token).get(path).status_code == 401


def test_a_building_x_token_is_refused_by_the_other_dialects(api):
    assert api.get("/v1/sn").status_code == 401
    assert api.get("/api/v2/organization/device/datastreams?deviceId=1").status_code == 401


def test_a_token_naming_no_client_is_refused(world, path):
    organization = Organization.objects.get(slug="demo")
    token = jwt_issue(dialect=Dialect.BUILDINGX, organization=organization, lifetime_seconds=60)

    response = bearer(token).get(path)

    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {
                "status": "401",
                "code": "unauthorized",
                "title": "Unauthorized",
                "detail": "Invalid or expired token.",
            }
        ]
    }
