from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.access.models import Dialect
from apps.access.tokens import jwt_issue
from apps.tenancy.models import Membership, Organization
from tests.api.dialect_clients import ems_token


def test_version_needs_no_credentials(client):
    response = client.get("/ver")

    assert response.status_code == 200
    assert response.json() == {"api_ver": 1}


def test_the_vendor_login_example_gives_a_token_that_works_for_30_minutes(world):
    response = APIClient().post("/v1/auth/login", {"username": "admin", "password": "s3cret!"}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    with time_machine.travel(timedelta(minutes=29, seconds=59)):
        assert client.get("/v1/sn").status_code == 200
    with time_machine.travel(timedelta(minutes=30, seconds=1)):
        expired = client.get("/v1/sn")
    assert expired.status_code == 401
    assert set(expired.json()) == {"error"}


@pytest.mark.parametrize(
    "body",
    [{"username": "admin", "password": "wrong"}, {"username": "nobody", "password": "s3cret!"}],
)
def test_wrong_credentials_are_401_with_the_error_body(world, body):
    response = APIClient().post("/v1/auth/login", body, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": "Wrong username or password, or no API role."}


@pytest.mark.world("gavazzi", "blynk")
def test_a_user_without_the_api_role_cannot_log_in(world):
    response = APIClient().post("/v1/auth/login", world["blynk"]["user"], format="json")

    assert response.status_code == 401


def test_a_token_stops_working_when_the_user_loses_the_api_role(api):
    Membership.objects.get(user__username="admin").roles.remove(
        *Membership.objects.get(user__username="admin").roles.filter(slug="api")
    )

    response = api.get("/v1/sn")

    assert response.status_code == 401
    assert response.json() == {"error": "The user no longer holds the API role."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "s3cret!"}, "username"),
        ({"username": "admin"}, "password"),
        ({"username": ["a"], "password": "x"}, "username"),
    ],
)
def test_login_names_a_missing_or_malformed_field(world, body, field):
    response = APIClient().post("/v1/auth/login", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"'{field}'")


def test_login_rejects_malformed_json_wrong_media_type_and_large_bodies(world):
    client = APIClient()

    malformed = client.post("/v1/auth/login", data="{", content_type="application/json")
    not_json = client.post(
        "/v1/auth/login", data='{"username": "admin", "password": NaN}', content_type="application/json"
    )
    wrong_type = client.post("/v1/auth/login", data="username=admin", content_type="text/plain")
    too_large = client.post("/v1/auth/login", {"username": "admin", "password": "x" * 17_000}, format="json")

    assert (malformed.status_code, set(malformed.json())) == (400, {"error"})
    assert (not_json.status_code, set(not_json.json())) == (400, {"error"})
    assert (wrong_type.status_code, set(wrong_type.json())) == (415, {"error"})
    assert (too_large.status_code, set(too_large.json())) == (413, {"error"})


def test_ten_failed_logins_in_a_minute_throttle_that_username_and_address(world):
    client = APIClient()
    for _ in range(10):
        assert (
            client.post("/v1/auth/login", {"username": "admin", "password": "bad"}, format="json").status_code
            == 401
        )

    blocked = client.post("/v1/auth/login", {"username": "admin", "password": "s3cret!"}, format="json")
    elsewhere = client.post(
        "/v1/auth/login", {"username": "admin", "password": "s3cret!"}, format="json", REMOTE_ADDR="10.0.0.9"
    )

    assert blocked.status_code == 429
    assert blocked.json() == {"error": "Too many requests."}
    assert blocked.headers["Retry-After"] == "60"
    assert elsewhere.status_code == 200


def test_successful_logins_are_never_counted(world):
    for _ in range(12):
        ems_token("admin", "s3cret!")

    assert (
        APIClient()
        .post("/v1/auth/login", {"username": "admin", "password": "bad"}, format="json")
        .status_code
        == 401
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-jwt", "Token abc", "Bearer a b"],
)
def test_protected_paths_need_a_valid_bearer_token(world, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/v1/devices")

    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_tokens_of_other_dialects_are_refused(world):
    organization = Organization.objects.get(slug="demo")
    client = APIClient()
    for dialect in (Dialect.BLYNK, Dialect.BUILDINGX):
        token = jwt_issue(dialect=dialect, organization=organization, lifetime_seconds=60)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/v1/devices").status_code == 401


def test_unknown_paths_answer_in_the_ems_error_shape(api):
    response = api.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": "No such endpoint."}
