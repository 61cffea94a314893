"""POST /oauth/token with the client credentials in an `Authorization: Basic` header (RFC 6749
§2.3.1), the default of OAuth client libraries, as well as in the body. authlib's own client
against both token endpoints: tests/api/clients/test_authlib.py."""

import base64
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from apps.access.models import OAuthClient
from tests.api.dialect_clients import AUDIENCE, basic, bearer

UNAUTHORIZED = {"error": "access_denied", "error_description": "Unauthorized"}


def form(**fields) -> str:
    return urlencode({"audience": AUDIENCE, "grant_type": "client_credentials", **fields})


def post_form(body: str, authorization: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return APIClient(**headers).post("/oauth/token", body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("media_type", ["form", "json"])
def test_client_credentials_in_a_basic_header_get_a_token(creds, path, media_type):
    client = APIClient(HTTP_AUTHORIZATION=basic(creds["client_id"], creds["client_secret"]))
    body = {"audience": AUDIENCE, "grant_type": "client_credentials"}
    if media_type == "json":
        response = client.post("/oauth/token", body, format="json")
    else:
        response = client.post(
            "/oauth/token", urlencode(body), content_type="application/x-www-form-urlencoded"
        )

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    assert response["Cache-Control"] == "no-store"
    assert bearer(response.json()["access_token"]).get(path).status_code == 200


def test_basic_wins_over_the_body(creds, path):
    right = basic(creds["client_id"], creds["client_secret"])
    wrong = basic(creds["client_id"], "wrong")
    body_right = form(client_id=creds["client_id"], client_secret=creds["client_secret"])
    body_wrong = form(client_id="nobody", client_secret="wrong")

    accepted = post_form(body_wrong, right)
    refused = post_form(body_right, wrong)

    assert accepted.status_code == 200
    assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)
    assert refused["WWW-Authenticate"] == "Basic"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
        "Basic a b",
    ],
)
def test_a_malformed_basic_header_is_401_access_denied(creds, authorization):
    before = OAuthClient.objects.values_list("pk", "last_used_at").get(client_id=creds["client_id"])

    response = post_form(
        form(client_id=creds["client_id"], client_secret=creds["client_secret"]), authorization
    )

    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert response["WWW-Authenticate"] == "Basic"
    assert OAuthClient.objects.values_list("pk", "last_used_at").get(client_id=creds["client_id"]) == before


@pytest.mark.world("buildingx", "blynk")
def test_a_wrong_basic_client_is_401_and_the_other_fields_are_still_checked(creds, world):
    blynk = world["blynk"]
    other_dialect = post_form(form(), basic(blynk["client_id"], blynk["client_secret"]))
    no_grant = APIClient(HTTP_AUTHORIZATION=basic(creds["client_id"], creds["client_secret"])).post(
        "/oauth/token", urlencode({"audience": AUDIENCE}), content_type="application/x-www-form-urlencoded"
    )

    assert (other_dialect.status_code, other_dialect.json()) == (401, UNAUTHORIZED)
    assert (no_grant.status_code, no_grant.json()) == (
        400,
        {"error": "invalid_request", "error_description": "Missing required parameter: grant_type"},
    )


def test_without_basic_the_body_still_needs_the_client_fields(creds):
    response = post_form(form(client_secret=creds["client_secret"]))

    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_request", "error_description": "Missing required parameter: client_id"},
    )
