"""A user's password change or deactivation ends the tokens acting for that user in every dialect:
Blynk user access and refresh tokens, EMS gateway login tokens. ioTORQ API keys are separate
credentials: they survive a password change, not a deactivation."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import Token

from apps.access.models import Dialect, RefreshToken
from apps.access.tokens import jwt_issue
from apps.tenancy.models import Organization
from tests.api.dialect_clients import bearer, blynk_token_request
from tests.factories import UserFactory

DATASTREAMS = "/api/v2/organization/device/datastreams"
IMPORT = "/ems/api/import/"
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The refresh token is invalid, expired or already used.",
}


def blynk_login(world) -> dict:
    user = world["blynk"]["user"]
    response = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=user["username"], password=user["password"]
    )
    assert response.status_code == 200, response.content
    return response.json()


def ems_login(username: str, password: str) -> APIClient:
    response = APIClient().post("/v1/auth/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return bearer(response.json()["token"])


def refresh(world, refresh_token: str):
    return blynk_token_request(world["blynk"], grant_type="refresh_token", refresh_token=refresh_token)


def password_set(username: str, password: str) -> None:
    user = get_user_model().objects.get(username=username)
    user.set_password(password)
    user.save()


def deactivate(username: str) -> None:
    get_user_model().objects.filter(username=username).update(is_active=False)


def test_a_password_change_ends_the_blynk_users_access_and_refresh_tokens(world):
    user = world["blynk"]["user"]
    before = blynk_login(world)
    assert bearer(before["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 200

    password_set(user["username"], "a new password")

    assert bearer(before["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 401
    refused = refresh(world, before["refresh_token"])
    assert (refused.status_code, refused.json()) == (400, INVALID_GRANT)
    assert RefreshToken.objects.filter(used_at=None, user__username=user["username"]).count() == 0
    again = blynk_token_request(
        world["blynk"], grant_type="user_credentials", username=user["username"], password="a new password"
    ).json()
    assert bearer(again["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 200
    renewed = refresh(world, again["refresh_token"])
    assert renewed.status_code == 200
    assert bearer(renewed.json()["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 200


def test_a_password_change_ends_the_ems_login_tokens(world):
    admin = world["admin"]
    before = ems_login(admin["username"], admin["password"])
    assert before.get("/v1/sn").status_code == 200

    password_set(admin["username"], "a new password")

    refused = before.get("/v1/sn")
    assert (refused.status_code, refused.json()) == (401, {"error": "Invalid or expired token."})
    assert ems_login(admin["username"], "a new password").get("/v1/sn").status_code == 200


def test_a_password_changed_in_the_admin_ends_the_users_tokens(world, client):
    admin_client = client
    admin_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    blynk_user = get_user_model().objects.get(username=world["blynk"]["user"]["username"])
    ems_user = get_user_model().objects.get(username=world["admin"]["username"])
    blynk = blynk_login(world)
    ems = ems_login(world["admin"]["username"], world["admin"]["password"])

    for user in (blynk_user, ems_user):
        response = admin_client.post(
            reverse("admin:auth_user_password_change", args=[user.pk]),
            {"password1": "Another-passw0rd", "password2": "Another-passw0rd", "usable_password": "true"},
        )
        assert response.status_code == 302, response.context and response.context["form"].errors

    assert bearer(blynk["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 401
    assert refresh(world, blynk["refresh_token"]).json() == INVALID_GRANT
    assert ems.get("/v1/sn").status_code == 401


def test_an_unchanged_password_keeps_the_tokens_working(world):
    """Saving the user for anything else (a name, a login timestamp) changes nothing."""
    blynk = blynk_login(world)
    user = get_user_model().objects.get(username=world["blynk"]["user"]["username"])
    user.first_name = "Renamed"
    user.save()

    assert bearer(blynk["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 200
    assert refresh(world, blynk["refresh_token"]).status_code == 200


def test_a_deactivation_ends_the_users_access_and_refresh_tokens(world):
    blynk = blynk_login(world)
    ems = ems_login(world["admin"]["username"], world["admin"]["password"])

    deactivate(world["blynk"]["user"]["username"])
    deactivate(world["admin"]["username"])

    assert bearer(blynk["access_token"]).get(DATASTREAMS, {"deviceId": 1}).status_code == 401
    assert refresh(world, blynk["refresh_token"]).json() == INVALID_GRANT
    assert ems.get("/v1/sn").status_code == 401


def test_a_user_token_without_the_credentials_claim_is_refused(world):
    """Tokens issued before a release that checks the password carry no such claim: they are
    refused rather than trusted (a user logs in again once)."""
    organization = Organization.objects.get(slug="demo")
    user = get_user_model().objects.get(username=world["admin"]["username"])
    legacy = type(
        "GavazziAccessToken", (Token,), {"token_type": "gavazzi", "lifetime": timedelta(minutes=1)}
    )()
    legacy["org"], legacy["user"] = organization.pk, user.pk
    current = jwt_issue(dialect=Dialect.GAVAZZI, organization=organization, user=user, lifetime_seconds=60)

    assert bearer(current).get("/v1/sn").status_code == 200
    assert bearer(str(legacy)).get("/v1/sn").status_code == 401


def test_an_api_key_survives_a_password_change_but_not_a_deactivation(world):
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Token {world['iotorq']['token']}")
    body = [
        {
            "id_type": "meter_code",
            "id_value": world["iotorq"]["meter_codes"][0],
            "series": {"datetime": [0], "val": [1]},
        }
    ]

    password_set(world["admin"]["username"], "a new password")
    assert key.post(IMPORT, body, format="json").status_code == 202

    deactivate(world["admin"]["username"])
    refused = key.post(IMPORT, body, format="json")
    assert (refused.status_code, refused.json()) == (401, {"detail": "Invalid token."})


@pytest.mark.parametrize("fallback", [True, False])
def test_refresh_tokens_survive_a_secret_key_rotation_with_the_old_key_as_fallback(world, settings, fallback):
    blynk = blynk_login(world)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key] if fallback else []

    response = refresh(world, blynk["refresh_token"])

    assert response.status_code == (200 if fallback else 400)
