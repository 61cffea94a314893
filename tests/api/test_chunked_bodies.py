"""A chunked request body (`Transfer-Encoding: chunked`, no Content-Length) on a server that does
not say its input ends with the body (runserver, the test client: no `wsgi.input_terminated`)
cannot be read: 411 in the dialect's shape, and nothing written (issue #17). Under gunicorn it
is read (tests/reliability/test_chunked_bodies_gunicorn.py)."""

import orjson
import pytest
from rest_framework.test import APIClient

from apps.imports.models import ImportJob
from tests.api.dialect_clients import tokens_for

MESSAGE = "A chunked request body needs a server that reads it; send Content-Length."


@pytest.fixture
def tokens(world):
    return tokens_for(world)


def requests(tokens) -> dict[str, tuple]:
    series_id = tokens.seed["iotorq"]["variable_ids"][0]
    bx = tokens.seed["buildingx"]
    point = f"/ingest/partitions/{bx['partition_id']}/points/{bx['point_id']}/values"
    return {
        "iotorq": (
            "/ems/api/import/",
            [{"id_type": "pk", "id_value": series_id, "series": {"datetime": [1], "val": [2.5]}}],
            tokens.header("iotorq"),
            "application/json",
            {"detail": MESSAGE},
        ),
        "blynk": (
            "/api/v1/organization/device/datastreams",
            {"deviceId": 101, "values": {"1": 7}},
            tokens.header("blynk"),
            "application/json",
            {"error": {"message": MESSAGE}},
        ),
        "buildingx": (
            point,
            {
                "data": [
                    {
                        "type": "PointValue",
                        "attributes": {"timestamp": "2026-01-01T00:00:00Z", "value": "7.5"},
                    }
                ]
            },
            tokens.header("buildingx"),
            "application/vnd.api+json",
            {
                "errors": [
                    {
                        "status": "411",
                        "code": "length-required",
                        "title": "Length required",
                        "detail": MESSAGE,
                    }
                ]
            },
        ),
        "gavazzi": ("/v1/auth/login", tokens.seed["ems"], "", "application/json", {"error": MESSAGE}),
    }


@pytest.mark.parametrize("dialect", ["iotorq", "blynk", "buildingx", "gavazzi"])
def test_a_chunked_body_the_server_cannot_read_is_411_in_the_dialects_shape(tokens, dialect):
    path, body, authorization, content_type, expected = requests(tokens)[dialect]

    response = APIClient().generic(
        "POST",
        path,
        orjson.dumps(body),
        content_type=content_type,
        HTTP_AUTHORIZATION=authorization,
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",  # a chunked request has none: Django then reads nothing
    )

    assert (response.status_code, response.json()) == (411, expected)
    assert ImportJob.objects.count() == 0
