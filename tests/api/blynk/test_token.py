"""POST /oauth2/token: the three grants, client authentication, RFC 6749 errors."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import Dialect, OAuthClient, RefreshToken
from apps.access.tokens import jwt_claims, jwt_issue
from apps.tenancy.models import Membership, Organization
from tests.api.dialect_clients import basic, bearer, blynk_org_token, blynk_token_request, blynk_user_token

DATASTREAMS = "/api/v2/organization/device/datastreams"


def refresh(credentials: dict, refresh_token: str):
    return blynk_token_request(credentials, grant_type="refresh_token", refresh_token=refresh_token)


def test_client_credentials_by_http_basic_give_an_organization_token(world):
    response = blynk_token_request(world["blynk"], grant_type="client_credentials")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 86400)
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt_claims(dialect=Dialect.BLYNK, token=body["access_token"])
    assert claims["org"] == Organization.objects.get(slug="demo").pk
    assert claims["client"] == OAuthClient.objects.get(client_id="demo-blynk").pk
    assert "user" not in claims
    assert bearer(body["access_token"]).get(DATASTREAMS, {"deviceId": 101}).status_code == 200


def test_client_credentials_may_travel_as_query_parameters(world):
    credentials = world["blynk"]
    response = APIClient().post(
        f"/oauth2/token?grant_type=client_credentials&client_id={credentials['client_id']}"
        f"&client_secret={credentials['client_secret']}"
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_parameters_may_also_travel_in_a_form_body_as_rfc_6749_sends_them(world):
    credentials = world["blynk"]
    body = urlencode(
        {"grant_type": "client_credentials", **{k: credentials[k] for k in ("client_id", "client_secret")}}
    )
    response = APIClient().post("/oauth2/token", data=body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("demo-blynk", "wrong secret"),
        basic("no-such-client", "secret"),
        "Basic not-base64!",
        "Basic " + "ZGVtby1ibHluaw==",  # "demo-blynk" without a colon
    ],
)
def test_missing_or_wrong_client_credentials_are_invalid_client(world, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.post("/oauth2/token?grant_type=client_credentials")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert set(response.json()) == {"error", "error_description"}
    assert response.headers["WWW-Authenticate"] == "Basic"


def test_a_wrong_secret_in_query_parameters_is_invalid_client(world):
    response = APIClient().post(
        "/oauth2/token?grant_type=client_credentials&client_id=demo-blynk&client_secret=x"
    )

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Unknown client or wrong client secret.",
    }


@pytest.mark.world("blynk", "buildingx")
def test_a_building_x_client_cannot_get_blynk_tokens(world):
    response = blynk_token_request(
        {"client_id": world["buildingx"]["client_id"], "client_secret": world["buildingx"]["client_secret"]},
        grant_type="client_credentials",
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(world):
    access = blynk_org_token(world["blynk"])
    OAuthClient.objects.filter(client_id="demo-blynk").update(revoked_at=timezone.now())

    assert blynk_token_request(world["blynk"], grant_type="client_credentials").status_code == 401
    assert bearer(access).get(DATASTREAMS, {"deviceId": 1}).status_code == 401


def test_a_missing_grant_type_is_invalid_request(world):
    response = blynk_token_request(world["blynk"])

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The grant_type parameter is required.",
    }


def test_an_unknown_grant_type_is_unsupported_grant_type(world):
    response = blynk_token_request(world["blynk"], grant_type="authorization_code")

    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "The grant type 'authorization_code' is not supported.",
    }


def test_a_refresh_token_works_once(world):
    first = blynk_token_request(world["blynk"], grant_type="client_credentials").json()

    renewed = refresh(world["blynk"], first["refresh_token"])
    reused = refresh(world["blynk"], first["refresh_token"])

    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert bearer(renewed.json()["access_token"]).get(DATASTREAMS, {"deviceId": 101}).status_code == 200
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_grant",
        "error_description": "The refresh token is invalid, expired or already used.",
    }
    assert refresh(world["blynk"], renewed.json()["refresh_token"]).status_code == 200


def test_a_refresh_token_expires(world):
    first = blynk_token_request(world["blynk"], grant_type="client_credentials").json()

    with time_machine.travel(timedelta(days=30, seconds=1)):
        response = refresh(world["blynk"], first["refresh_token"])

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_refresh_token_works_only_for_the_client_it_was_issued_to(world, other_world):
    first = blynk_token_request(world["blynk"], grant_type="client_credentials").json()

    stolen = refresh(other_world["blynk"], first["refresh_token"])

    assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant")
    assert refresh(world["blynk"], first["refresh_token"]).status_code == 200


@pytest.mark.parametrize("grant", ["refresh_token", "user_credentials"])
def test_missing_grant_parameters_are_invalid_request(world, grant):
    response = blynk_token_request(world["blynk"], grant_type=grant)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "parameter is required" in response.json()["error_description"]


@pytest.mark.parametrize("grant", ["user_credentials", "password"])
def test_user_credentials_give_a_token_acting_for_that_user(world, grant):
    user = world["blynk"]["user"]

    response = blynk_token_request(
        world["blynk"], grant_type=grant, username=user["username"].upper(), password=user["password"]
    )

    assert response.status_code == 200
    claims = jwt_claims(dialect=Dialect.BLYNK, token=response.json()["access_token"])
    assert claims["user"] == get_user_model().objects.get(username=user["username"]).pk
    api = bearer(response.json()["access_token"])
    assert api.get(DATASTREAMS, {"deviceId": 1}).status_code == 200
    assert api.get(DATASTREAMS, {"deviceId": 101}).status_code == 404


def test_a_refreshed_user_token_still_acts_for_the_user(world):
    user = world["blynk"]["user"]
    first = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=user["username"], password=user["password"]
    ).json()

    renewed = refresh(world["blynk"], first["refresh_token"]).json()

    assert jwt_claims(dialect=Dialect.BLYNK, token=renewed["access_token"])["user"] is not None
    assert bearer(renewed["access_token"]).get(DATASTREAMS, {"deviceId": 101}).status_code == 404


def test_a_user_who_left_the_organization_cannot_refresh(world):
    user = world["blynk"]["user"]
    first = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=user["username"], password=user["password"]
    ).json()
    Membership.objects.filter(user__username=user["username"]).delete()

    response = refresh(world["blynk"], first["refresh_token"])

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert bearer(first["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 401


@pytest.mark.parametrize(
    "username_password",
    [("blynk@demo.example", "wrong"), ("nobody@demo.example", "x"), ("admin", "wrong")],
)
def test_wrong_user_credentials_are_invalid_grant(world, username_password):
    username, password = username_password

    response = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=username, password=password
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Wrong username or password."}
    assert not RefreshToken.objects.filter(user__isnull=False).exists()


def test_ten_failed_user_logins_in_a_minute_throttle_that_username_and_address(world):
    user = world["blynk"]["user"]
    for _ in range(10):
        failed = blynk_token_request(
            world["blynk"], grant_type="user_credentials", username=user["username"], password="wrong"
        )
        assert failed.status_code == 400

    blocked = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=user["username"], password=user["password"]
    )

    assert blocked.status_code == 429
    assert blocked.json()["error"] == "slow_down"
    assert blocked.headers["Retry-After"] == "60"
    assert blynk_token_request(world["blynk"], grant_type="client_credentials").status_code == 200


def test_a_user_of_another_organization_cannot_log_in_through_this_client(world, other_world):
    other_user = other_world["blynk"]["user"]

    response = blynk_token_request(
        world["blynk"],
        grant_type="user_credentials",
        username=other_user["username"],
        password=other_user["password"],
    )

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_access_tokens_expire_after_a_day(world):
    access = blynk_org_token(world["blynk"])

    with time_machine.travel(timedelta(seconds=86_399)):
        assert bearer(access).get(DATASTREAMS, {"deviceId": 1}).status_code == 200
    with time_machine.travel(timedelta(seconds=86_401)):
        expired = bearer(access).get(DATASTREAMS, {"deviceId": 1})

    assert expired.status_code == 401
    assert expired.json() == {"error": {"message": "Invalid or expired token."}}
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_a_deactivated_users_token_stops_working(world):
    user = world["blynk"]["user"]
    access = blynk_user_token(world["blynk"], user["username"], user["password"])
    get_user_model().objects.filter(username=user["username"]).update(is_active=False)

    assert bearer(access).get(DATASTREAMS, {"deviceId": 1}).status_code == 401


def test_tokens_of_other_dialects_are_refused_and_blynk_tokens_elsewhere(world):
    organization = Organization.objects.get(slug="demo")
    for dialect in (Dialect.GAVAZZI, Dialect.BUILDINGX):
        foreign = jwt_issue(dialect=dialect, organization=organization, lifetime_seconds=60)
        assert bearer(foreign).get(DATASTREAMS, {"deviceId": 1}).status_code == 401

    assert bearer(blynk_org_token(world["blynk"])).get("/v1/sn").status_code == 401


def test_the_token_endpoint_refuses_large_bodies_and_other_methods_in_its_shape(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"]))

    too_large = client.post(
        "/oauth2/token?grant_type=client_credentials",
        data="x=" + "a" * 16_384,
        content_type="application/x-www-form-urlencoded",
    )
    get = client.get("/oauth2/token?grant_type=client_credentials")

    assert too_large.status_code == 413
    assert too_large.json()["error"] == "invalid_request"
    assert get.status_code == 405
    assert set(get.json()) == {"error", "error_description"}


def test_token_requests_count_against_the_organizations_request_limit(rate_window, world):
    Organization.objects.filter(slug="demo").update(requests_per_minute=2)

    answers = [blynk_token_request(world["blynk"], grant_type="client_credentials") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "slow_down"
    assert "Retry-After" in answers[2].headers
