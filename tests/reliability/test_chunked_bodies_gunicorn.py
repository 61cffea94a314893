"""Chunked request bodies (`Transfer-Encoding: chunked`, no Content-Length; issue #17) under
the README's production layout (gunicorn over the test database).

Django bounds the body by Content-Length, so a chunked body used to read as empty ("The request
body is empty."). gunicorn decodes the chunks and says the input ends with the body
(`wsgi.input_terminated`), so the body is now read with the same limit as any other: the same
answer as with Content-Length, and a 413 in the dialect's shape as soon as the limit is passed,
without waiting for the rest. PostgreSQL only (gunicorn must see the test's committed rows).
"""

import http.client
import socket

import orjson
import pytest

from apps.api.buildingx.parsing import BODY_LIMIT as BUILDINGX_LIMIT
from apps.api.iotorq.parsing import BODY_LIMIT as IOTORQ_LIMIT
from apps.imports.models import ImportJob

from . import crash_support as support
from . import test_redis_outage_gunicorn as outage

pytestmark = [*outage.pytestmark, pytest.mark.django_db(transaction=True)]
stack = outage.stack  # a redis-server and gunicorn over the test database, world committed


def send(port: int, method: str, path: str, headers: dict, body: bytes = b"", *, chunked=False) -> tuple:
    """(status, body) of one request; a chunked body goes in 1000-byte chunks."""
    conn = http.client.HTTPConnection(support.LOOPBACK, port, timeout=outage.CLIENT_TIMEOUT_SECONDS)
    try:
        if chunked:
            pieces = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
            conn.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        else:
            conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def writes(world: dict, port: int) -> dict[str, tuple]:
    """(path, body, headers, read-back GET path) of one write per dialect."""
    requests = outage.dialect_requests(world, port)
    json = {"Content-Type": "application/json"}
    point, buildingx = requests["buildingx read"][1], requests["buildingx read"][3]
    series_id = world["iotorq"]["variable_ids"][0]
    return {
        "iotorq import": (
            "/ems/api/import/",
            [{"id_type": "pk", "id_value": series_id, "series": {"datetime": [1_500_000_000], "val": [2.5]}}],
            {**requests["iotorq import"][3], **json},
            None,
        ),
        "blynk values": (
            "/api/v1/organization/device/datastreams",
            {"deviceId": 101, "values": {"1": 7}},
            {**requests["blynk values"][3], **json},
            "/api/v2/organization/device/datastreams?deviceId=101",
        ),
        "buildingx ingest": (
            f"{point}?overwrite=true",  # the second write of the same sample is not dropped
            {
                "data": [
                    {
                        "type": "PointValue",
                        "attributes": {"timestamp": "2026-01-01T00:00:00Z", "value": "7.5"},
                    }
                ]
            },
            {**buildingx, "Content-Type": "application/vnd.api+json"},
            point,
        ),
    }


@pytest.mark.parametrize("name", ["iotorq import", "blynk values", "buildingx ingest"])
def test_a_chunked_body_gets_the_answer_of_the_same_body_with_content_length(stack, name):
    world, _, port = stack
    path, body, headers, read_back = writes(world, port)[name]
    raw = orjson.dumps(body)

    chunked = send(port, "POST", path, headers, raw, chunked=True)
    after_chunked = read_back and send(port, "GET", read_back, headers)
    plain = send(port, "POST", path, headers, raw)
    after_plain = read_back and send(port, "GET", read_back, headers)

    assert chunked[0] in (202, 204), chunked
    if name == "iotorq import":  # a job each, alike but for its id
        assert (chunked[0], plain[0]) == (202, 202)
        assert orjson.loads(chunked[1]).keys() == orjson.loads(plain[1]).keys()
        assert ImportJob.objects.count() == 2
    else:
        assert chunked == plain
        assert after_chunked[0] == 200, after_chunked
        assert without_times(after_chunked[1]) == without_times(after_plain[1])
        assert b"7.5" in after_chunked[1] or b'"value":7.0' in after_chunked[1]


def without_times(content: bytes):
    """A read-back without Blynk's `updatedAt` (the time of each write)."""
    data = orjson.loads(content)
    if isinstance(data, list):
        return [{key: value for key, value in item.items() if key != "updatedAt"} for item in data]
    return data


@pytest.mark.parametrize(
    ("name", "limit", "expected"),
    [
        ("iotorq import", IOTORQ_LIMIT, {"detail": f"Request body is larger than {IOTORQ_LIMIT} bytes."}),
        (
            "buildingx ingest",
            BUILDINGX_LIMIT,
            {
                "errors": [
                    {
                        "status": "413",
                        "code": "payload-too-large",
                        "title": "Payload too large",
                        "detail": f"Request body is larger than {BUILDINGX_LIMIT} bytes.",
                    }
                ]
            },
        ),
    ],
)
def test_a_chunked_body_past_the_limit_is_413_at_once_and_writes_nothing(stack, name, limit, expected):
    world, _, port = stack
    path, _, headers, read_back = writes(world, port)[name]
    before = read_back and send(port, "GET", read_back, headers)
    head = f"POST {path} HTTP/1.1\r\nHost: {support.LOOPBACK}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
    over = b" " * (limit + 1)
    with socket.create_connection((support.LOOPBACK, port), timeout=outage.CLIENT_TIMEOUT_SECONDS) as sock:
        # One byte past the limit, then the start of a 16 MiB chunk that never comes in full
        # (nor the last chunk): the answer must not wait for the rest.
        sock.sendall(head.encode() + f"{len(over):x}\r\n".encode() + over + b"\r\n")
        sock.sendall(f"{16 * 1024 * 1024:x}\r\n".encode() + b" " * 65_536)
        response = http.client.HTTPResponse(sock)
        response.begin()
        status, content = response.status, response.read()

    assert (status, orjson.loads(content)) == (413, expected)
    assert ImportJob.objects.count() == 0
    assert not read_back or before[0] == 200
    assert (read_back and send(port, "GET", read_back, headers)) == before
