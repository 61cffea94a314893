"""`Authorization: Token <key>`, keys issued by `manage.py issue_token`, the request limit and the
OpenAPI schema of the ioTORQ dialect."""

import io

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.access.models import ApiToken
from apps.access.services import api_token_revoke
from apps.access.tokens import jwt_issue
from apps.imports.models import ImportJob
from apps.tenancy.models import Membership, Organization
from apps.tenancy.services import membership_grant
from tests.api.dialect_clients import iotorq_client
from tests.factories import OrganizationFactory, UserFactory

from .conftest import IMPORT_URL

BODY = [{"id_type": "meter_code", "id_value": "my_meter_code1", "series": {"datetime": [0], "val": [1]}}]


def post(client: APIClient):
    return client.post(IMPORT_URL, BODY, format="json")


def test_a_request_without_credentials_is_401_with_www_authenticate_token(world):
    response = post(APIClient())

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"] == "Token"
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token not-a-key", "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ],
)
def test_a_bad_token_is_401(world, header, detail):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = post(client)

    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Token"


def test_the_keyword_is_case_insensitive(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {world['iotorq']['token']}")

    assert post(client).status_code == 202


def test_a_revoked_token_is_401(world):
    api_token_revoke(token=ApiToken.objects.get(organization__slug="demo", revoked_at=None))

    response = post(iotorq_client(world["iotorq"]["token"]))

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_token_stops_working_when_its_user_leaves_the_organization(world):
    Membership.objects.filter(user__username=world["admin"]["username"], organization__slug="demo").delete()

    assert post(iotorq_client(world["iotorq"]["token"])).status_code == 401


def test_a_jwt_of_another_dialect_is_401(world):
    organization = Organization.objects.get(slug="demo")
    jwt = jwt_issue(dialect="gavazzi", organization=organization, user=None, lifetime_seconds=60)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt}")

    response = post(client)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_each_use_of_a_token_is_recorded(world):
    token = ApiToken.objects.get(organization__slug="demo", revoked_at=None)
    assert token.last_used_at is None

    post(iotorq_client(world["iotorq"]["token"]))

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_requests_past_the_organizations_limit_are_429_in_the_dialect_shape(rate_window, world, other_world):
    Organization.objects.filter(slug="demo").update(requests_per_minute=2)
    client = iotorq_client(world["iotorq"]["token"])

    answers = [client.get(f"{IMPORT_URL}00000000-0000-0000-0000-000000000000/").status_code for _ in range(3)]
    limited = post(client)

    assert answers == [404, 404, 429]
    assert limited.status_code == 429
    assert limited.json() == {"detail": "Too many requests."}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert post(iotorq_client(other_world["iotorq"]["token"])).status_code == 202


# --- manage.py issue_token ---------------------------------------------------------------------


def issue(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    assert "will not be shown again" in err.getvalue()
    return out.getvalue().strip()


def test_issue_token_prints_a_key_that_imports_as_the_user(world):
    key = issue("--user", world["admin"]["username"], "--name", "backfill")

    response = post(iotorq_client(key))

    assert response.status_code == 202
    token = ApiToken.objects.get(name="backfill")
    assert token.organization.slug == "demo"
    assert token.digest != key and key not in token.digest  # only a digest is stored
    assert ImportJob.objects.get().token == token


def test_issue_token_needs_the_organization_when_the_user_has_several(world):
    user = UserFactory(username="multi")
    first, second = OrganizationFactory(slug="first"), OrganizationFactory(slug="second")
    membership_grant(user=user, organization=first, role_slugs=[])
    membership_grant(user=user, organization=second, role_slugs=[])

    with pytest.raises(CommandError, match=r"several organizations \(first, second\)"):
        issue("--user", "multi")
    issue("--user", "multi", "--org", "second")

    assert ApiToken.objects.get(user=user).organization == second


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No active user 'nobody'."),
        (["--user", "loner"], "loner is not a member of any organization."),
        (["--user", "loner", "--org", "demo"], "loner is not a member of organization 'demo'."),
    ],
)
def test_issue_token_refuses_unknown_users_and_non_members(world, args, message):
    UserFactory(username="loner")

    with pytest.raises(CommandError, match=message):
        issue(*args)
    assert not ApiToken.objects.filter(user__username__in=["nobody", "loner"]).exists()


# --- OpenAPI ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_import_paths_with_the_token_scheme(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert {"/ems/api/import/", "/ems/api/import/{job_id}/"} <= set(schema["paths"])
    assert "/ems/api/import" not in schema["paths"]
    assert schema["components"]["securitySchemes"]["iotorqToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["iotorqToken"]["description"],
    }
    post_op = schema["paths"]["/ems/api/import/"]["post"]
    assert post_op["security"] == [{"iotorqToken": []}]
    assert set(post_op["responses"]) == {"202", "400", "401", "413", "415", "429", "503"}
    request_schema = post_op["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema["type"] == "array"
    get_op = schema["paths"]["/ems/api/import/{job_id}/"]["get"]
    assert set(get_op["responses"]) == {"200", "401", "404", "429", "503"}
