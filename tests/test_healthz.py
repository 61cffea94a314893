import pytest
from django.db import OperationalError, connection


@pytest.mark.django_db
def test_healthz_answers_ok_with_each_dependencys_state(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "local", "broker": "none"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_refuses_queries(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "status": "unavailable",
        "database": "down",
        "cache": "local",
        "broker": "none",
    }
