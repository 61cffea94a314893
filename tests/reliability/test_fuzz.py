"""Schemathesis against our own OpenAPI schema (/api/schema/), in-process over WSGI, with valid
credentials of every dialect: no answer may be a 5xx, every answer must be documented (status
code, media type, headers and body shape), and no operation may answer without its credentials.

Every operation goes through the phases schemathesis has for a single operation: the schema's
examples, coverage (boundary values; in the long run also missing and wrongly typed parameters,
undocumented methods, missing credentials) and fuzzing with valid and invalid data. Half of the
generated requests are steered to the demo's real identifiers (devices, datastreams, variables,
partitions, uids, recent timestamps), so the fuzzer also gets past the 404s to the code behind.
Blynk runs twice: with an organization-level token and with a user's token.
"""

import os
import random
import time
import zlib

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from apps.timeseries.models import Series

# The bounded run (the normal suite) fuzzes 10 examples an operation, derandomized so CI is
# reproducible, and keeps the coverage phase to its positive cases. `make fuzz` sets FUZZ_EXAMPLES
# (e.g. 500): a random seed (Hypothesis prints it with any failure) and the whole coverage phase.
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
    suppress_health_check=list(HealthCheck),
    derandomize=not LONG_RUN,
)
DAY_MS = 86_400_000

pytestmark = [pytest.mark.fuzz]


class _TestWSGIHandler(WSGIHandler):
    """Django's own WSGI handler, serving inside the test's transaction. Like the test client, it
    must not close the database connection when a request starts or ends (the test client
    reconnects that handler after each of its requests, so it is taken off around each call)."""

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = super().__call__(environ, start_response)
            body = b"".join(response)
            response.close()  # sends request_finished, as a WSGI server would
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi_app():
    return _TestWSGIHandler()


def _demo_world(seed: dict) -> dict:
    """The identifiers of the world organization the generated requests are steered to."""
    response = APIClient(HTTP_AUTHORIZATION=f"Token {seed['iotorq']['token']}").post(
        "/ems/api/import/",
        [{"id_type": "meter_code", "id_value": "my_meter_code1", "series": {"datetime": [1], "val": [1]}}],
        format="json",
    )
    assert response.status_code == 202, response.content
    return {
        "job": response.json()["job"],
        "meter_codes": list(
            Series.objects.filter(organization__slug=seed["organization"]["slug"])
            .exclude(meter_code=None)
            .values_list("meter_code", flat=True)
        ),
        "variable_ids": seed["iotorq"]["variable_ids"],
        "partition": seed["buildingx"]["partition_id"],
        "point": seed["buildingx"]["point_id"],
        "buildingx": seed["buildingx"],
        "ems": seed["ems"],
        "now": int(time.time() * 1000),
    }


def _steer(world: dict):
    """A `map_case` hook (it applies to every phase): half of the cases get real identifiers of
    the world organization. The choices derive from the case itself, so a case maps the same way
    every time Hypothesis replays it."""

    def map_case(context, case):
        rng = random.Random(
            zlib.crc32(repr((case.path, case.path_parameters, case.query, case.body)).encode())
        )
        if rng.random() < 0.5:
            return case
        now = world["now"]

        def recent_ms() -> int:
            return rng.randint(now - 35 * DAY_MS, now + 35 * DAY_MS)

        def replace(container, name, value):
            if isinstance(container, dict) and name in container:
                container[name] = value() if callable(value) else value

        path, query, body = case.path_parameters, case.query, case.body
        if case.path.startswith("/api/"):
            for container in (query, body):
                replace(container, "deviceId", rng.choice([1, 101]))
                replace(container, "dataStreamId", rng.choice([1, 2]))
            replace(query, "deviceIds", rng.choice(["1,101", "101", "1,1,7"]))
            replace(query, "dataStreamIds", rng.choice(["1,2", "2"]))
            replace(query, "pin", rng.choice(["v1", "V2", "v9"]))
            replace(query, "from", recent_ms)
            replace(query, "to", recent_ms)
            if isinstance(body, dict) and isinstance(body.get("values"), list):
                for item in body["values"]:
                    replace(item, "ts", lambda: rng.choice([recent_ms(), str(recent_ms())]))
            if isinstance(body, dict) and "fields" in body:
                body["fields"] = ["deviceId", *rng.sample(["Temperature", "Humidity"], rng.randint(1, 2))]
                for row in body.get("updates") if isinstance(body.get("updates"), list) else []:
                    if isinstance(row, list) and row:
                        row[0] = rng.choice([1, 101, "1", 7])
        elif case.path.startswith("/ems/"):
            replace(path, "job_id", world["job"])
            for item in body if isinstance(body, list) else []:
                if isinstance(item, dict):
                    by_code = rng.random() < 0.5
                    item["id_type"] = "meter_code" if by_code else "pk"
                    item["id_value"] = rng.choice(world["meter_codes" if by_code else "variable_ids"])
                    series = item.get("series")
                    if isinstance(series, dict) and isinstance(series.get("datetime"), list):
                        series["val"] = [rng.uniform(-1e6, 1e6) for _ in series["datetime"]]
                        series["datetime"] = [rng.randint(0, 2**31) for _ in series["datetime"]]
        elif case.path.startswith("/ingest/"):
            replace(path, "partitionId", world["partition"])
            replace(path, "pointId", world["point"])
            for item in (
                body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), list) else []
            ):
                attributes = item.get("attributes") if isinstance(item, dict) else None
                if isinstance(attributes, dict) and rng.random() < 0.5:
                    attributes["timestamp"] = (
                        f"20{rng.randint(10, 30)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T12:00:00Z"
                    )
                    attributes["value"] = str(rng.uniform(-1e6, 1e6))
        elif case.path == "/oauth/token":
            for name in ("client_id", "client_secret"):
                replace(body, name, world["buildingx"][name])
        elif case.path == "/v1/auth/login":
            for name in ("username", "password"):
                replace(body, name, world["ems"][name])
        else:
            replace(path, "device_uid", rng.choice(["1", "82", "59", "101"]))
            replace(path, "load_uid", rng.choice(["2", "83"]))
            replace(path, "signal_uid", rng.choice(["3", "5", "100"]))
            replace(query, "uids", rng.choice(["3,100", "2", "83,2", "1,59", "101"]))
            replace(query, "start", rng.randint(now - 2 * DAY_MS, now))
            replace(query, "end", rng.randint(now - DAY_MS, now + DAY_MS))
        return case

    return map_case


def _schema(app, seed: dict, *, blynk_bearer: str, iotorq: str, buildingx: str, ems: str):
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all"},
            "phases": {"coverage": {"generation": {"mode": "all" if LONG_RUN else "positive"}}},
            "auth": {
                "openapi": {
                    "iotorqToken": {"api_key": f"Token {iotorq}"},
                    "blynkBearer": {"bearer": blynk_bearer},
                    "blynkBasic": {
                        "username": seed["blynk"]["client_id"],
                        "password": seed["blynk"]["client_secret"],
                    },
                    "buildingxBearer": {"bearer": buildingx},
                    "emsBearer": {"bearer": ems},
                }
            },
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app, config=config)
    schema.hook("map_case")(_steer(_demo_world(seed)))
    return schema


@pytest.fixture
def _unlimited(settings):
    """The request limit is tested elsewhere; a long run must not turn into a run of 429s."""
    settings.EMS_REQUESTS_PER_MINUTE = 10**9
    settings.EMS_IMPORT_POINTS_PER_DEVICE_DAY = 10**9


@pytest.fixture
def organization_schema(wsgi_app, tokens_a, _unlimited):
    """Every operation, with organization-level credentials (Blynk and Building X clients) and
    the users' own (ioTORQ key, EMS login)."""
    return _schema(
        wsgi_app,
        tokens_a.seed,
        blynk_bearer=tokens_a.blynk,
        iotorq=tokens_a.iotorq,
        buildingx=tokens_a.buildingx,
        ems=tokens_a.ems,
    )


@pytest.fixture
def blynk_user_schema(wsgi_app, tokens_a, _unlimited):
    """The Blynk operations with the token of a user who holds only OWN_DEVICES_VIEW."""
    return _schema(
        wsgi_app,
        tokens_a.seed,
        blynk_bearer=tokens_a.blynk_user,
        iotorq=tokens_a.iotorq,
        buildingx=tokens_a.buildingx,
        ems=tokens_a.ems,
    )


organization = schemathesis.pytest.from_fixture("organization_schema")
blynk_user = schemathesis.pytest.from_fixture("blynk_user_schema").include(
    path_regex=r"^/api/v[12]/organization/"
)


@organization.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_organization_credentials(case):
    case.call_and_validate(checks=CHECKS)


@blynk_user.parametrize()
@FUZZ_SETTINGS
def test_blynk_operations_with_a_user_token(case):
    case.call_and_validate(checks=CHECKS)
