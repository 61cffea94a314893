"""What every Blynk endpoint shares: authentication, the error shape, request and body limits,
media types, database outages, the OpenAPI schema."""

import pytest
import yaml
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from apps.tenancy.models import Organization

from .conftest import device_stream

V2 = "/api/v2/organization/device/datastreams"
IMPORT = "/api/v1/organization/device/import/batch"
POSTS = [
    "/api/v1/organization/device/datastream",
    "/api/v1/organization/device/datastreams",
    "/api/v1/organization/product/devices/batch-update",
    IMPORT,
    "/api/v1/organization/device/datastream/property",
]
GETS = [V2, "/api/v1/organization/device/datastreams/batch", "/api/v1/organization/device/datastream/history"]
FOUR_MIB = 4 * 1024 * 1024


@pytest.mark.parametrize("path", GETS + POSTS)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-jwt", "Token abc"])
def test_every_endpoint_needs_a_valid_bearer_token(world, path, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.generic("GET" if path in GETS else "POST", path)

    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"message"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_requests_past_the_organizations_limit_are_429_with_retry_after(rate_window, api, other_api):
    # The token request that made `api` was the first request of this minute.
    Organization.objects.filter(slug="demo").update(requests_per_minute=4)

    answers = [api.get(V2, {"deviceId": 1}).status_code for _ in range(4)]
    limited = api.get(V2, {"deviceId": 1})

    assert answers == [200, 200, 200, 429]
    assert limited.json() == {"error": {"message": "Too many requests."}}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other_api.get(V2, {"deviceId": 1}).status_code == 200


def test_a_database_outage_is_503_with_retry_after_in_the_error_shape(api):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is restarting")

    with connection.execute_wrapper(refuse):
        response = api.get(V2, {"deviceId": 1})

    assert response.status_code == 503
    assert response.json() == {"error": {"message": "Service temporarily unavailable."}}
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("path", POSTS)
def test_bodies_over_four_mebibytes_are_413_before_parsing(api, path):
    response = api.post(path, data=b"{" * (FOUR_MIB + 1), content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"error": {"message": f"Request body is larger than {FOUR_MIB} bytes."}}


def test_a_body_of_exactly_four_mebibytes_is_read(api):
    body = b'{"deviceId": 101, "dataStreamId": 1, "value": 5}'
    body += b" " * (FOUR_MIB - len(body))

    response = api.post(POSTS[0], data=body, content_type="application/json")

    assert response.status_code == 204


@pytest.mark.parametrize("path", POSTS)
def test_malformed_json_is_400(api, path):
    response = api.post(path, data=b'{"deviceId": 1,', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Malformed JSON")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"NaN"])
def test_a_body_that_is_not_a_json_object_is_400(api, body):
    response = api.post(IMPORT, data=body, content_type="application/json")

    assert response.status_code == 400


def test_wrong_and_missing_content_types_are_415_and_store_nothing(api):
    before = device_stream("demo", 101, 1).value
    body = b'{"deviceId": 101, "dataStreamId": 1, "value": 5}'

    wrong = api.post(POSTS[0], data=body, content_type="text/plain")
    missing = api.generic("POST", POSTS[0], data=body, content_type="")

    assert (wrong.status_code, missing.status_code) == (415, 415)
    assert set(wrong.json()["error"]) == {"message"}
    assert device_stream("demo", 101, 1).value == before


def test_wrong_methods_are_405_in_the_error_shape(api):
    response = api.get(IMPORT)

    assert response.status_code == 405
    assert response.json() == {"error": {"message": 'Method "GET" not allowed.'}}


def test_unknown_paths_are_404_in_the_error_shape(api):
    response = api.get("/api/v1/organization/device/nothing")

    assert response.status_code == 404
    assert response.json() == {"error": {"message": "No such endpoint."}}


@pytest.mark.django_db
def test_the_openapi_schema_documents_every_path_with_both_security_schemes(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert {"/oauth2/token", *GETS, *POSTS} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert (schemes["blynkBasic"]["scheme"], schemes["blynkBearer"]["scheme"]) == ("basic", "bearer")
    assert schema["paths"]["/oauth2/token"]["post"]["security"] == [{"blynkBasic": []}]
    assert schema["paths"][IMPORT]["post"]["security"] == [{"blynkBearer": []}]
    assert schema["paths"][V2]["get"]["security"] == [{"blynkBearer": []}]
