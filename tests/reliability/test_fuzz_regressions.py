"""What fuzzing the OpenAPI schema found, kept as regressions.

1. A 500 on EMS paths whose uid is a non-ASCII digit (`/v1/signals/³/history`): `str.isdigit()`
   holds for "³", `int()` refuses it.
2. Statuses the endpoints really answer but the schema did not document, found by sending every
   operation of the schema the requests that provoke the statuses every dialect shares (body over
   the limit, wrong media type, request limit reached, database down) and validating the answers
   against the schema with schemathesis' own checks.
"""

import pytest
import requests
import schemathesis
from django.db import OperationalError, connection
from django.test import Client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.tenancy.models import Organization
from tests.api.dialect_clients import AUDIENCE, Tokens, basic

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
OVER_EVERY_LIMIT = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def openapi():
    """Our schema, as schemathesis reads it (serving it touches no database)."""
    raw = Client().get("/api/schema/?format=json").json()
    return schemathesis.openapi.from_dict(raw)


def _operations(openapi) -> list:
    return [result.ok() for result in openapi.get_all_operations()]


def _label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _path_parameters(operation, tokens: Tokens) -> dict:
    values = {
        "device_uid": "1",
        "load_uid": "2",
        "signal_uid": "3",
        "job_id": "00000000-0000-0000-0000-000000000000",
        "partitionId": tokens.seed["buildingx"]["partition_id"],
        "pointId": tokens.seed["buildingx"]["point_id"],
    }
    return {name: values[name] for name in _names(operation.path)}


def _names(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def _request(operation, tokens: Tokens) -> dict:
    """A request to `operation` that passes authentication: path, headers and (token endpoints)
    the body or query that reach the database."""
    path = operation.path
    for name, value in _path_parameters(operation, tokens).items():
        path = path.replace(f"{{{name}}}", value)
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    seed = tokens.seed
    headers = {}
    if "iotorqToken" in schemes:
        headers["HTTP_AUTHORIZATION"] = tokens.header("iotorq")
    elif "blynkBearer" in schemes:
        headers["HTTP_AUTHORIZATION"] = tokens.header("blynk")
    elif "blynkBasic" in schemes:
        headers["HTTP_AUTHORIZATION"] = basic(seed["blynk"]["client_id"], seed["blynk"]["client_secret"])
        path += "?grant_type=client_credentials"
    elif "buildingxBearer" in schemes:
        headers["HTTP_AUTHORIZATION"] = tokens.header("buildingx")
    elif "emsBearer" in schemes:
        headers["HTTP_AUTHORIZATION"] = tokens.header("ems")
    body = {
        "/oauth/token": {
            "client_id": seed["buildingx"]["client_id"],
            "client_secret": seed["buildingx"]["client_secret"],
            "audience": AUDIENCE,
            "grant_type": "client_credentials",
        },
        "/v1/auth/login": seed["ems"],
    }.get(operation.path)
    return {"path": path, "headers": headers, "body": body, "authenticated": bool(schemes)}


def _send(operation, request: dict, **extra):
    data = extra.pop("data", request["body"])
    content_type = extra.pop("content_type", "application/json")
    if data is not None and not isinstance(data, bytes | str):
        import json

        data = json.dumps(data)
    return Client().generic(
        operation.method.upper(),
        request["path"],
        data or b"",
        content_type=content_type,
        **request["headers"],
        **extra,
    )


def _summary(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, BaseExceptionGroup) else "; ".join(map(str, exc.exceptions))
    return " ".join(text.split())[:200]


def _assert_documented(operation, tokens: Tokens, response, request: dict) -> None:
    """The answer is documented: its status, media type and body (schemathesis' checks)."""
    prepared = requests.Request(operation.method.upper(), f"http://testserver{request['path']}").prepare()
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )
    case = operation.Case(path_parameters=_path_parameters(operation, tokens))
    case.validate_response(answer, checks=CHECKS)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/signals/³/history",
        "/v1/signals/²",
        "/v1/devices/\u0661/loads",  # Arabic-Indic digit one: int() reads it, it is no uid all the same
        "/v1/loads/\uff11/signals",  # fullwidth digit one
        "/v1/devices/⁵/history/last",
    ],
)
def test_ems_path_uid_of_non_ascii_digits_is_a_404_not_a_500(path, tokens_a):
    response = Client(HTTP_AUTHORIZATION=tokens_a.header("ems")).get(path)

    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_schema_documents_the_413_of_every_write_operation(openapi, tokens_a):
    failures = {}
    for operation in _operations(openapi):
        if operation.method.lower() not in ("post", "put", "patch", "delete"):
            continue
        request = _request(operation, tokens_a)
        response = _send(operation, request, data=b"{", CONTENT_LENGTH=str(OVER_EVERY_LIMIT))
        try:
            assert response.status_code == 413, response.content
            _assert_documented(operation, tokens_a, response, request)
        except (Exception, BaseExceptionGroup) as exc:  # every operation is reported, not just the first
            failures[_label(operation)] = _summary(exc)

    assert failures == {}


def test_schema_documents_the_415_of_every_operation_that_takes_a_json_body(openapi, tokens_a):
    failures = {}
    for operation in _operations(openapi):
        media_types = operation.definition.raw.get("requestBody", {}).get("content", {})
        # application/json or a JSON-based type (Building X documents application/vnd.api+json)
        if not any(media_type.split(";")[0].endswith(("/json", "+json")) for media_type in media_types):
            continue
        request = _request(operation, tokens_a)
        response = _send(operation, request, data="a=1", content_type="text/plain")
        try:
            assert response.status_code == 415, response.content
            _assert_documented(operation, tokens_a, response, request)
        except (Exception, BaseExceptionGroup) as exc:
            failures[_label(operation)] = _summary(exc)

    assert failures == {}


def test_schema_documents_the_429_of_every_operation_under_the_request_limit(rate_window, openapi, tokens_a):
    # Given the organization's limit spent (credentials are checked before the limit)
    Organization.objects.filter(slug="demo").update(requests_per_minute=1)
    Client(HTTP_AUTHORIZATION=tokens_a.header("ems")).get("/v1/sn")

    failures = {}
    for operation in _operations(openapi):
        request = _request(operation, tokens_a)
        if not request["authenticated"]:
            continue
        response = _send(operation, request)
        try:
            assert response.status_code == 429, response.content
            assert int(response["Retry-After"]) > 0
            _assert_documented(operation, tokens_a, response, request)
        except (Exception, BaseExceptionGroup) as exc:
            failures[_label(operation)] = _summary(exc)

    assert failures == {}


def test_schema_documents_the_blynk_token_endpoints_429_after_failed_user_logins(openapi, world):
    operation = openapi["/oauth2/token"]["POST"]
    blynk = world["blynk"]
    client = Client(HTTP_AUTHORIZATION=basic(blynk["client_id"], blynk["client_secret"]))
    path = f"/oauth2/token?grant_type=user_credentials&username={blynk['user']['username']}&password=wrong"
    for _ in range(10):
        client.post(path)

    response = client.post(path)

    assert response.status_code == 429
    _assert_documented(operation, Tokens(world, "", "", "", "", ""), response, {"path": path})


def test_schema_documents_the_503_of_every_operation_that_needs_the_database(openapi, tokens_a):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is restarting")

    failures = {}
    for operation in _operations(openapi):
        if operation.path == "/ver":  # answers without the database
            continue
        request = _request(operation, tokens_a)
        with connection.execute_wrapper(refuse):
            response = _send(operation, request)
        try:
            assert response.status_code == 503, response.content
            assert response["Retry-After"] == "5"
            _assert_documented(operation, tokens_a, response, request)
        except (Exception, BaseExceptionGroup) as exc:
            failures[_label(operation)] = _summary(exc)

    assert failures == {}
