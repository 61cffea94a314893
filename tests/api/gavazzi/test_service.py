"""What every EMS gateway endpoint shares: the organization's request limit, database outages,
the OpenAPI schema."""

import pytest
import yaml
from django.db import OperationalError, connection

from apps.tenancy.models import Organization


def test_requests_past_the_organizations_limit_are_429_with_retry_after(rate_window, api, other_api):
    Organization.objects.filter(slug="demo").update(requests_per_minute=3)

    answers = [api.get("/v1/sn").status_code for _ in range(4)]
    limited = api.get("/v1/sn")

    assert answers == [200, 200, 200, 429]
    assert limited.json() == {"error": "Too many requests."}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other_api.get("/v1/sn").status_code == 200


def test_a_database_outage_is_503_with_retry_after_in_the_error_shape(api):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is restarting")

    with connection.execute_wrapper(refuse):
        response = api.get("/v1/devices")

    assert response.status_code == 503
    assert response.json() == {"error": "Service temporarily unavailable."}
    assert response.headers["Retry-After"] == "5"


@pytest.mark.django_db
def test_the_openapi_schema_documents_every_ems_path_with_the_bearer_scheme(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    assert {
        "/ver",
        "/v1/auth/login",
        "/v1/devices/{device_uid}/loads",
        "/v1/signals/{signal_uid}/history",
        "/v1/loads/{load_uid}/history/last",
    } <= paths
    assert schema["components"]["securitySchemes"]["emsBearer"]["scheme"] == "bearer"
    assert "security" not in schema["paths"]["/ver"]["get"]  # public
    assert schema["paths"]["/v1/realtime"]["get"]["security"] == [{"emsBearer": []}]
