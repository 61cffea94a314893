"""Security properties that hold across the dialects: credentials at rest, JWT verification,
token scoping to one dialect, login throttling, body limits, production settings and the
request log."""

import base64
import json
import logging
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from apps.access.models import Dialect
from apps.access.services import api_token_issue, oauth_client_issue, oauth_client_secret_rotate
from apps.tenancy.models import Organization
from tests.api.dialect_clients import AUDIENCE, Tokens, authorized, basic, blynk_token

from .conftest import dialect_endpoints

ROOT = Path(__file__).resolve().parents[2]
BLYNK = "/api/v1/organization"


# A request per dialect that succeeds with that dialect's credentials (and answers 401 without).
def _protected(tokens: Tokens) -> dict:
    point = tokens.seed["buildingx"]
    return {
        "iotorq": "/ems/api/import/00000000-0000-0000-0000-000000000000/",  # 404 when authenticated
        "blynk": "/api/v2/organization/device/datastreams?deviceId=1",
        "buildingx": f"/ingest/partitions/{point['partition_id']}/points/{point['point_id']}/values",
        "gavazzi": "/v1/sn",
    }


def _authenticated(response) -> bool:
    return response.status_code in (200, 404)


def _is_401_in_shape(dialect: str, response) -> bool:
    if response.status_code != 401:
        return False
    body = response.json()
    return {
        "iotorq": lambda: set(body) == {"detail"},
        "blynk": lambda: set(body) == {"error"} and set(body["error"]) == {"message"},
        "buildingx": lambda: body["errors"][0]["status"] == "401",
        "gavazzi": lambda: set(body) == {"error"} and isinstance(body["error"], str),
    }[dialect]()


# --- credentials at rest ------------------------------------------------------------------------


def _every_stored_value():
    """Every value of every column of every table, as text or bytes."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if isinstance(value, str | bytes):
                        yield table, value


def test_no_plaintext_credential_is_stored_after_issuing_every_kind(world, tokens_a):
    # Given every kind of credential the project issues: API keys, client secrets (issued and
    # rotated) of both OAuth dialects, access and refresh tokens (organization and user, first
    # and refreshed), Building X and EMS JWTs, and the users' passwords
    org = Organization.objects.get(slug="demo")
    seed = world
    blynk_client = APIClient(
        HTTP_AUTHORIZATION=basic(seed["blynk"]["client_id"], seed["blynk"]["client_secret"])
    )
    first = blynk_client.post("/oauth2/token?grant_type=client_credentials").json()
    refreshed = blynk_client.post(
        f"/oauth2/token?grant_type=refresh_token&refresh_token={first['refresh_token']}"
    ).json()
    user = seed["blynk"]["user"]
    user_pair = blynk_client.post(
        f"/oauth2/token?grant_type=user_credentials&username={user['username']}&password={user['password']}"
    ).json()
    key = api_token_issue(organization=org, user=org.memberships.first().user, name="scan").secret
    new_client = oauth_client_issue(organization=org, dialect=Dialect.BUILDINGX, name="scan")
    rotated = oauth_client_secret_rotate(client=new_client.credential)
    blynk_extra = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="scan blynk")
    plaintexts = {
        "ioTORQ key (seed)": seed["iotorq"]["token"],
        "ioTORQ key (issued)": key,
        "Blynk client secret": seed["blynk"]["client_secret"],
        "Blynk client secret (issued)": blynk_extra.secret,
        "Building X client secret": seed["buildingx"]["client_secret"],
        "Building X client secret (issued)": new_client.secret,
        "Building X client secret (rotated)": rotated.secret,
        "Blynk access token": first["access_token"],
        "Blynk refresh token": first["refresh_token"],
        "Blynk refreshed access token": refreshed["access_token"],
        "Blynk refreshed refresh token": refreshed["refresh_token"],
        "Blynk user access token": user_pair["access_token"],
        "Blynk user refresh token": user_pair["refresh_token"],
        "Building X access token": tokens_a.buildingx,
        "EMS login token": tokens_a.ems,
        "EMS password": seed["ems"]["password"],
        "Blynk user password": user["password"],
    }
    # A JWT's signature is its secret part; payloads are public.
    for name, value in list(plaintexts.items()):
        if value.count(".") == 2:
            plaintexts[f"{name} signature"] = value.rsplit(".", 1)[1]
    assert len(set(plaintexts.values())) == len(plaintexts)

    # When every column of every table is read, then none holds any of them
    found = [
        (name, table)
        for table, value in _every_stored_value()
        for name, secret in plaintexts.items()
        if (secret in value if isinstance(value, str) else secret.encode() in value)
    ]
    assert found == []


# --- JWTs -----------------------------------------------------------------------------------------

JWT_DIALECTS = {"blynk": "blynk", "buildingx": "buildingx", "gavazzi": "ems"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _forgeries(token: str) -> dict[str, str]:
    claims = _claims(token)
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    header, payload, signature = token.split(".")
    none = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    other_org = _b64(json.dumps({**claims, "org": claims["org"] + 1}).encode())
    return {
        "alg none": f"{none}.{payload}.",
        "alg none, signature kept": f"{none}.{payload}.{signature}",
        "HS512 with the server key": jwt.encode(claims, key, algorithm="HS512"),
        "HS384 with the server key": jwt.encode(claims, key, algorithm="HS384"),
        "HS256 with another key": jwt.encode(claims, secrets.token_urlsafe(50), algorithm="HS256"),
        "claims changed, signature kept": f"{header}.{other_org}.{signature}",
        "unsigned header, signature stripped": f"{header}.{payload}.",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("dialect", sorted(JWT_DIALECTS))
def test_a_jwt_resigned_with_another_algorithm_or_key_is_refused(dialect, tokens_a):
    token = getattr(tokens_a, JWT_DIALECTS[dialect])
    path = _protected(tokens_a)[dialect]
    assert _authenticated(authorized(f"Bearer {token}").get(path))

    refused = {name: authorized(f"Bearer {forged}").get(path) for name, forged in _forgeries(token).items()}

    assert {name: r.status_code for name, r in refused.items() if not _is_401_in_shape(dialect, r)} == {}


LIFETIMES = {
    "blynk": ("blynk", "BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS"),
    "blynk user": ("blynk_user", "BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS"),
    "buildingx": ("buildingx", "BUILDINGX_TOKEN_LIFETIME_SECONDS"),
    "gavazzi": ("ems", "EMS_LOGIN_TOKEN_LIFETIME_SECONDS"),
}


@pytest.mark.parametrize("kind", sorted(LIFETIMES))
def test_a_jwt_works_until_its_lifetime_ends_and_never_after(kind, tokens_a):
    field, setting = LIFETIMES[kind]
    dialect = kind.split()[0]
    lifetime = getattr(settings, setting)
    token = getattr(tokens_a, field)
    issued = datetime.fromtimestamp(_claims(token)["iat"], UTC)
    assert _claims(token)["exp"] - _claims(token)["iat"] == lifetime
    api, path = authorized(f"Bearer {token}"), _protected(tokens_a)[dialect]

    with time_machine.travel(issued + timedelta(seconds=lifetime - 2), tick=False):
        assert _authenticated(api.get(path))
    with time_machine.travel(issued + timedelta(seconds=lifetime), tick=False):
        late = api.get(path)

    assert _is_401_in_shape(dialect, late), late.content


def test_a_blynk_refresh_token_expires(world):
    client = APIClient(HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"]))
    refresh = client.post("/oauth2/token?grant_type=client_credentials").json()["refresh_token"]
    lifetime = settings.BLYNK_REFRESH_TOKEN_LIFETIME_SECONDS

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=lifetime + 1)):
        response = client.post(f"/oauth2/token?grant_type=refresh_token&refresh_token={refresh}")

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- one dialect's credentials at every other dialect ---------------------------------------------

CREDENTIALS = {
    "iotorq": "iotorq",
    "blynk": "blynk",
    "blynk user": "blynk_user",
    "buildingx": "buildingx",
    "gavazzi": "ems",
}
PAIRS = [
    (source, target)
    for source in CREDENTIALS
    for target in ("iotorq", "blynk", "buildingx", "gavazzi")
    if source.split()[0] != target
]


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_credential_of_one_dialect_is_refused_by_every_other(source, target, tokens_a):
    secret = getattr(tokens_a, CREDENTIALS[source])
    path = _protected(tokens_a)[target]
    own = {"iotorq": "iotorq", "blynk": "blynk", "buildingx": "buildingx", "gavazzi": "ems"}[target]
    assert _authenticated(authorized(tokens_a.header(own)).get(path))

    # Presented the way the target dialect expects its own credentials, and the source's way.
    answers = [authorized(f"{scheme} {secret}").get(path) for scheme in ("Token", "Bearer")]

    assert [r.status_code for r in answers if not _is_401_in_shape(target, r)] == []


def test_an_oauth_client_of_one_dialect_is_refused_by_the_other_token_endpoint(world):
    blynk, buildingx = world["blynk"], world["buildingx"]

    at_blynk = APIClient(HTTP_AUTHORIZATION=basic(buildingx["client_id"], buildingx["client_secret"])).post(
        "/oauth2/token?grant_type=client_credentials"
    )
    at_buildingx = APIClient().post(
        "/oauth/token",
        {
            "client_id": blynk["client_id"],
            "client_secret": blynk["client_secret"],
            "audience": AUDIENCE,
            "grant_type": "client_credentials",
        },
        format="json",
    )

    assert at_blynk.status_code == 401 and at_blynk.json()["error"] == "invalid_client"
    assert at_buildingx.status_code == 401 and at_buildingx.json() == {
        "error": "access_denied",
        "error_description": "Unauthorized",
    }


# --- login throttling -----------------------------------------------------------------------------


def test_ems_login_is_throttled_after_ten_failures_for_that_username_and_address(world):
    def login(password, address="10.0.0.1"):
        return APIClient().post(
            "/v1/auth/login", {"username": "admin", "password": password}, format="json", REMOTE_ADDR=address
        )

    failures = [login(f"wrong-{i}").status_code for i in range(10)]
    blocked = login("s3cret!")

    assert failures == [401] * 10
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert set(blocked.json()) == {"error"}
    assert login("s3cret!", address="10.0.0.2").status_code == 200


def test_blynk_user_credentials_are_throttled_after_ten_failures(world):
    user = world["blynk"]["user"]
    client = APIClient(HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"]))

    def login(password, address="10.0.0.1"):
        return client.post(
            f"/oauth2/token?grant_type=user_credentials&username={user['username']}&password={password}",
            REMOTE_ADDR=address,
        )

    failures = [login(f"wrong-{i}") for i in range(10)]
    blocked = login(user["password"])

    assert [(r.status_code, r.json()["error"]) for r in failures] == [(400, "invalid_grant")] * 10
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert blocked.json()["error"] == "slow_down"
    assert login(user["password"], address="10.0.0.2").status_code == 200


# --- body limits ----------------------------------------------------------------------------------

KIB, MIB = 1024, 1024 * 1024
# Regular-expression routes are the dialects' catch-alls for unknown paths, not endpoints.
WRITE_LIMITS = {
    "ems/api/import/": ("iotorq", 2_097_152),
    "ems/api/import": ("iotorq", 2_097_152),
    "oauth2/token": ("blynk token", 16 * KIB),
    "api/v1/organization/device/datastream": ("blynk", 4 * MIB),
    "api/v1/organization/device/datastreams": ("blynk", 4 * MIB),
    "api/v1/organization/product/devices/batch-update": ("blynk", 4 * MIB),
    "api/v1/organization/device/import/batch": ("blynk", 4 * MIB),
    "api/v1/organization/device/datastream/property": ("blynk", 4 * MIB),
    "oauth/token": ("buildingx token", 16 * KIB),
    "ingest/partitions/{partitionId}/points/{pointId}/values": ("buildingx", MIB),
    "v1/auth/login": ("gavazzi", 16 * KIB),
}


def _write_endpoints() -> set[str]:
    return {
        route
        for method, route in dialect_endpoints()
        if method in ("POST", "PUT", "PATCH", "DELETE") and not route.startswith("^")
    }


def _request_for(route: str, tokens: Tokens) -> tuple[APIClient, str]:
    seed = tokens.seed
    if route.startswith("ems/"):
        return authorized(tokens.header("iotorq")), f"/{route}"
    if route == "oauth2/token":
        client = APIClient(
            HTTP_AUTHORIZATION=basic(seed["blynk"]["client_id"], seed["blynk"]["client_secret"])
        )
        return client, "/oauth2/token?grant_type=client_credentials"
    if route.startswith("api/"):
        return authorized(tokens.header("blynk")), f"/{route}"
    if route.startswith("ingest/"):
        point = seed["buildingx"]
        return (
            authorized(tokens.header("buildingx")),
            f"/ingest/partitions/{point['partition_id']}/points/{point['point_id']}/values",
        )
    return APIClient(), f"/{route}"


def _is_413_in_shape(kind: str, response) -> bool:
    if response.status_code != 413:
        return False
    body = response.json()
    return {
        "iotorq": lambda: set(body) == {"detail"},
        "blynk": lambda: set(body) == {"error"} and set(body["error"]) == {"message"},
        "blynk token": lambda: body["error"] == "invalid_request" and "error_description" in body,
        "buildingx": lambda: (
            body["errors"][0]["status"] == "413"
            and body["errors"][0]["code"] == "payload-too-large"
            and response["Content-Type"].startswith("application/vnd.api+json")
        ),
        "buildingx token": lambda: body["error"] == "invalid_request" and "error_description" in body,
        "gavazzi": lambda: set(body) == {"error"},
    }[kind]()


def test_every_write_endpoint_has_a_body_limit_here():
    assert _write_endpoints() == set(WRITE_LIMITS)


@pytest.mark.parametrize("route", sorted(WRITE_LIMITS))
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(route, content_type, tokens_a):
    # Given a Content-Length one byte over the limit and a short, malformed body: the test
    # client's input stream fails the test if anything tries to read the announced length
    kind, limit = WRITE_LIMITS[route]
    client, path = _request_for(route, tokens_a)

    response = client.generic(
        "POST", path, b"{not json", content_type=content_type, CONTENT_LENGTH=str(limit + 1)
    )

    assert _is_413_in_shape(kind, response), (response.status_code, response.content)


@pytest.mark.parametrize("route", sorted(WRITE_LIMITS))
def test_a_malformed_body_of_exactly_the_limit_is_read_and_refused_as_malformed(route, tokens_a):
    _, limit = WRITE_LIMITS[route]
    client, path = _request_for(route, tokens_a)
    body = b"{" + b" " * (limit - 1)

    response = client.generic("POST", path, body, content_type="application/json")

    # The Blynk token endpoint takes its parameters from the query string and ignores a JSON body.
    expected = 200 if route == "oauth2/token" else 400
    assert response.status_code == expected, (response.status_code, response.content[:300])


# --- production settings --------------------------------------------------------------------------


def test_production_settings_pass_the_deployment_checks(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_"))
    }
    environment |= {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "ems.example.com",
        "STATIC_ROOT": str(tmp_path / "static"),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- the request log ------------------------------------------------------------------------------


def test_no_log_line_holds_a_credential(world, tokens_a, caplog):
    # Given every log record at every level, SQL included
    seed = world
    blynk, user = seed["blynk"], seed["blynk"]["user"]
    connection.force_debug_cursor = True
    try:
        with caplog.at_level(logging.DEBUG):
            # When credentials travel in every way the dialects accept them, right and wrong
            query_client = APIClient()
            pair = query_client.post(
                f"/oauth2/token?grant_type=client_credentials&client_id={blynk['client_id']}"
                f"&client_secret={blynk['client_secret']}"
            ).json()
            query_client.post(
                f"/oauth2/token?grant_type=refresh_token&refresh_token={pair['refresh_token']}"
                f"&client_id={blynk['client_id']}&client_secret={blynk['client_secret']}"
            )
            user_token = blynk_token(
                blynk, grant_type="password", username=user["username"], password=user["password"]
            )
            APIClient(HTTP_AUTHORIZATION=basic(blynk["client_id"], blynk["client_secret"])).post(
                "/oauth2/token",
                {
                    "grant_type": "user_credentials",
                    "username": user["username"],
                    "password": "wrong-password-1",
                },
            )
            APIClient().post(
                "/v1/auth/login", {"username": "admin", "password": "wrong-password-2"}, format="json"
            )
            APIClient().post(
                "/oauth/token",
                {
                    "client_id": seed["buildingx"]["client_id"],
                    "client_secret": "wrong-secret-3",
                    "audience": AUDIENCE,
                    "grant_type": "client_credentials",
                },
                format="json",
            )
            for kind, path in _protected(tokens_a).items():
                header = tokens_a.header({"gavazzi": "ems"}.get(kind, kind))
                authorized(header).get(path)
                authorized(header + "x").get(path)  # a wrong one
            authorized(f"Bearer {user_token}").get(_protected(tokens_a)["blynk"])
    finally:
        connection.force_debug_cursor = False

    # Then no record holds any of them
    text = caplog.text + "".join(str(record.args) for record in caplog.records)
    secrets_ = {
        seed["iotorq"]["token"],
        blynk["client_secret"],
        seed["buildingx"]["client_secret"],
        pair["access_token"],
        pair["refresh_token"],
        user_token,
        user["password"],
        seed["ems"]["password"],
        tokens_a.blynk,
        tokens_a.buildingx,
        tokens_a.ems,
        "wrong-password-1",
        "wrong-password-2",
        "wrong-secret-3",
    }
    assert "POST /oauth2/token" in text  # the request log did run
    assert sorted(secret[:8] for secret in secrets_ if secret in text) == []
