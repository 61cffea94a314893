"""The cache's Redis stopped or frozen (issue 13, item 1), in this process: every dialect keeps
answering, the request limit lets requests through and counts them, failed logins are counted in
the process, history totals are computed again, and a frozen Redis costs one timeout per
CACHE_RETRY_SECONDS, not one per request.

The Redis is the test's own redis-server on a free port, stopped with SIGKILL or frozen with
SIGSTOP; never the machine's shared one. Runs on both databases (the web side is this process).
"""

import contextlib
import signal
import time

import pytest
from django.core.cache import caches
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from apps.tenancy.models import Organization
from apps.timeseries import query
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.api.dialect_clients import AUDIENCE, basic, bearer, iotorq_client, tokens_for

from . import crash_support as support

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not support.RedisServer.available(), reason="no redis-server binary"),
]

BLYNK_HISTORY = "/api/v1/organization/device/datastream/history"
HANG_BOUND_SECONDS = 20  # far above any timeout: a request still running then is hanging


@pytest.fixture
def redis_cache(tmp_path, settings):
    """The default cache on a redis-server of the test's own, configured as CACHE_URL would."""
    server = support.RedisServer(tmp_path)
    server.start()
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url(1),
            "OPTIONS": dict(settings.REDIS_SOCKET_OPTIONS),
        },
    }
    try:
        yield server
    finally:
        server.close()
        caches["default"].close()


@contextlib.contextmanager
def redis_broker(server):
    """This process's Celery app on `server` (database 0), with the transport options that
    ems.settings gives a Redis CELERY_BROKER_URL."""
    from django.conf import settings

    from ems.celery import app

    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = dict(settings.REDIS_SOCKET_OPTIONS)
    try:
        with support.celery_producer(server.url(0), "healthz"):
            yield
    finally:
        app.conf.broker_transport_options = saved


def counted(name: str, use: str) -> float:
    return REGISTRY.get_sample_value(name, {"use": use}) or 0.0


class Hang(BaseException):
    """Raised by SIGALRM in a request that does not answer (a BaseException, so that no
    `except Exception` on the way swallows it)."""


def answer(call, *args, **kwargs):
    """`call(*args, **kwargs)` and its duration; a request hanging on a frozen Redis fails the
    test after HANG_BOUND_SECONDS instead of hanging it (the signal interrupts the blocked read)."""

    def hang(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, HANG_BOUND_SECONDS)
    started = time.monotonic()
    try:
        response = call(*args, **kwargs)
    except Hang:
        pytest.fail(f"no answer within {HANG_BOUND_SECONDS} s: the request hangs")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return response, time.monotonic() - started


def dialect_requests(tokens, world) -> dict[str, tuple]:
    """One authenticated request of every dialect (and both password logins): (client, method,
    path, body, expected status)."""
    buildingx = world["buildingx"]
    point = f"/ingest/partitions/{buildingx['partition_id']}/points/{buildingx['point_id']}/values"
    series_id = world["iotorq"]["variable_ids"][0]
    blynk_user = world["blynk"]["user"]
    blynk_basic = {"HTTP_AUTHORIZATION": _basic(world["blynk"])}
    return {
        "iotorq import": (
            iotorq_client(tokens.iotorq),
            "post",
            "/ems/api/import/",
            [{"id_type": "pk", "id_value": series_id, "series": {"datetime": [1_500_000_000], "val": [1.5]}}],
            202,
        ),
        "blynk values": (
            bearer(tokens.blynk),
            "get",
            "/api/v2/organization/device/datastreams?deviceId=101",
            None,
            200,
        ),
        "blynk login": (
            APIClient(**blynk_basic),
            "post",
            f"/oauth2/token?grant_type=password&username={blynk_user['username']}&password={blynk_user['password']}",
            None,
            200,
        ),
        "buildingx read": (bearer(tokens.buildingx), "get", point, None, 200),
        "buildingx token": (
            APIClient(),
            "post",
            "/oauth/token",
            {
                "client_id": buildingx["client_id"],
                "client_secret": buildingx["client_secret"],
                "audience": AUDIENCE,
                "grant_type": "client_credentials",
            },
            200,
        ),
        "gavazzi devices": (bearer(tokens.ems), "get", "/v1/devices", None, 200),
        "gavazzi login": (APIClient(), "post", "/v1/auth/login", world["ems"], 200),
    }


def _basic(credentials: dict) -> str:
    return basic(credentials["client_id"], credentials["client_secret"])


def send(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_every_dialect_answers_while_the_cache_redis_is_down(redis_cache, world, outage):
    tokens = tokens_for(world)  # while Redis answers
    requests = dialect_requests(tokens, world)
    redis_cache.kill() if outage == "stopped" else redis_cache.pause()

    statuses, seconds = {}, {}
    for name, (client, method, path, body, _) in requests.items():
        response, seconds[name] = answer(send, client, method, path, body)
        statuses[name] = response.status_code

    assert statuses == {name: expected for name, (*_, expected) in requests.items()}
    print(f"Redis {outage}: " + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in seconds.items()))


@pytest.mark.django_db
def test_the_request_limit_lets_requests_through_and_counts_them_while_the_cache_is_down(redis_cache, world):
    client = bearer(tokens_for(world).ems)
    Organization.objects.filter(slug="demo").update(requests_per_minute=2)
    redis_cache.kill()
    before = counted("ems_cache_errors_total", "request_limit") + counted(
        "ems_cache_skipped_total", "request_limit"
    )

    statuses = [client.get("/v1/sn").status_code for _ in range(5)]

    after = counted("ems_cache_errors_total", "request_limit") + counted(
        "ems_cache_skipped_total", "request_limit"
    )
    assert statuses == [200] * 5
    assert after - before == 5


@pytest.mark.django_db
def test_failed_logins_are_still_throttled_in_the_process_while_the_cache_is_down(redis_cache, world):
    redis_cache.kill()
    client = APIClient()

    failures = [
        client.post("/v1/auth/login", {"username": "admin", "password": "bad"}, format="json").status_code
        for _ in range(10)
    ]
    blocked = client.post("/v1/auth/login", world["ems"], format="json")
    elsewhere = client.post("/v1/auth/login", world["ems"], format="json", REMOTE_ADDR="10.0.0.9")

    assert failures == [401] * 10
    assert blocked.status_code == 429
    assert blocked.json() == {"error": "Too many requests."}
    assert elsewhere.status_code == 200


@pytest.mark.django_db
def test_history_totals_are_computed_again_while_the_cache_is_down(redis_cache, world):
    client = bearer(tokens_for(world).blynk)
    series = Series.objects.get(
        datastreams__organization__slug="demo", datastreams__device__uid=101, datastreams__stream_id=1
    )
    now_ms = int(time.time() * 1000)
    minutes = [now_ms - 60_000 * (i + 1) for i in range(30)]  # half an hour of one-minute samples
    write(SampleBatch([series.pk] * len(minutes), minutes, [21.0] * len(minutes)), Policy.OVERWRITE)
    window = {"deviceId": 101, "dataStreamId": 1, "from": now_ms - 86_400_000, "to": now_ms, "size": 1}
    stored = query.samples_count(series_id=series.pk, start_ms=window["from"], end_ms=window["to"] + 1)
    cached = client.get(BLYNK_HISTORY, window).json()["totalElements"]
    redis_cache.kill()

    response = client.get(BLYNK_HISTORY, window)

    assert response.status_code == 200
    assert response.json()["totalElements"] == cached == stored == 30


@pytest.mark.django_db
def test_a_frozen_cache_is_tried_once_then_skipped_for_a_few_seconds(redis_cache, world, settings):
    settings.CACHE_RETRY_SECONDS = 60
    client = bearer(tokens_for(world).ems)
    reference = [answer(client.get, "/v1/sn")[1] for _ in range(20)]  # Redis answering
    redis_cache.pause()
    errors = counted("ems_cache_errors_total", "request_limit")
    skipped = counted("ems_cache_skipped_total", "request_limit")

    timings = [answer(client.get, "/v1/sn")[1] for _ in range(20)]

    assert counted("ems_cache_errors_total", "request_limit") - errors == 1
    assert counted("ems_cache_skipped_total", "request_limit") - skipped == 19
    print(
        f"frozen Redis: first request {timings[0] * 1000:.0f} ms, the next 19 "
        f"{sum(timings[1:]) / 19 * 1000:.1f} ms on average; Redis answering: "
        f"{sum(reference) / 20 * 1000:.1f} ms on average"
    )


@pytest.mark.django_db
def test_the_cache_is_used_again_once_redis_is_back(redis_cache, world, settings, rate_window):
    settings.CACHE_RETRY_SECONDS = 0.2
    client = bearer(tokens_for(world).ems)
    caches["default"].clear()  # the token requests counted against the limit
    Organization.objects.filter(slug="demo").update(requests_per_minute=3)
    redis_cache.pause()
    assert client.get("/v1/sn").status_code == 200  # opens the circuit

    redis_cache.resume()
    time.sleep(0.3)
    statuses = [client.get("/v1/sn").status_code for _ in range(4)]

    # The command that timed out may still run once Redis wakes up and reads it: the third
    # request may count fourth. Either way the limit holds again.
    assert statuses[:2] == [200, 200]
    assert statuses[3] == 429


# --- /healthz ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_each_dependency_up(redis_cache, client):
    with redis_broker(redis_cache):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "up", "broker": "up"}


@pytest.mark.django_db
@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_healthz_says_degraded_with_200_while_redis_is_down(redis_cache, client, outage):
    with redis_broker(redis_cache):
        redis_cache.kill() if outage == "stopped" else redis_cache.pause()
        response, seconds = answer(client.get, "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "up", "cache": "down", "broker": "down"}
    print(f"/healthz with Redis {outage}: {seconds * 1000:.0f} ms")


@pytest.mark.django_db
def test_healthz_sees_the_cache_back_at_once(redis_cache, client, world, settings, rate_window):
    settings.CACHE_RETRY_SECONDS = 60
    redis_cache.pause()
    assert client.get("/healthz").json()["cache"] == "down"

    redis_cache.resume()

    assert client.get("/healthz").json()["cache"] == "up"  # probes, whatever the circuit says
    tokens = tokens_for(world)  # and closes the circuit: the limit is counted again
    Organization.objects.filter(slug="demo").update(requests_per_minute=1)  # the tokens counted 3
    assert bearer(tokens.ems).get("/v1/sn").status_code == 429
