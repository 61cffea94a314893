"""The README's production layout (gunicorn, cache and broker on Redis) with its Redis stopped,
then frozen (issue 13, item 1): every dialect keeps answering, ioTORQ keeps accepting imports
(202: the job is durable in PostgreSQL), and /healthz says what is down with a 200.

The Redis is the test's own redis-server on a free port (never the machine's shared one);
PostgreSQL only, since gunicorn must see the test's committed rows.
"""

import base64
import http.client
import time
import uuid

import orjson
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from apps.tenancy.services import roles_sync
from tests.worlds import world as world_build

from . import crash_support as support

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not support.RedisServer.available(), reason="no redis-server binary"),
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="gunicorn cannot see the test run's SQLite database",
    ),
]

CLIENT_TIMEOUT_SECONDS = 15  # far above any Redis timeout: a request still running then hangs


def call(
    port: int, method: str, path: str, body=None, headers: dict | None = None
) -> tuple[int, dict, float]:
    """(status, JSON body or {}, seconds); raises TimeoutError when gunicorn does not answer."""
    conn = http.client.HTTPConnection(support.LOOPBACK, port, timeout=CLIENT_TIMEOUT_SECONDS)
    headers = dict(headers or {})
    if isinstance(body, dict | list):
        body = orjson.dumps(body)
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    seconds = time.monotonic() - started
    try:
        parsed = orjson.loads(content) if content else {}
    except orjson.JSONDecodeError:
        parsed = {"text": content[:200].decode(errors="replace")}
    return response.status, parsed, seconds


@pytest.fixture
def stack(transactional_db, tmp_path):
    """A redis-server and gunicorn (cache on Redis database 1, broker on database 0) over the
    test database, with the world organization committed."""
    roles_sync()
    world = world_build("demo")
    # The suite hashes with MD5 for speed; gunicorn knows only the project's hashers.
    for login in (world["ems"], world["blynk"]["user"]):
        encoded = PBKDF2PasswordHasher().encode(login["password"], PBKDF2PasswordHasher().salt())
        get_user_model().objects.filter(username=login["username"]).update(password=encoded)
    redis = support.RedisServer(tmp_path)
    redis.start()
    port = support.free_port()
    env = support.project_env(
        DATABASE_URL=support.database_url(connection.settings_dict),
        CACHE_URL=redis.url(1),
        CELERY_BROKER_URL=redis.url(0),
        CELERY_TASK_DEFAULT_QUEUE=f"outage-{uuid.uuid4().hex[:8]}",
    )
    gunicorn = None
    try:
        gunicorn = support.start_gunicorn(env, port, tmp_path / "gunicorn.log", workers=1, threads=4)
        yield world, redis, port
    finally:
        support.stop_process(gunicorn)
        redis.close()


def dialect_requests(world: dict, port: int) -> dict[str, tuple]:
    """(method, path, body, headers, expected status) of one request per dialect, with tokens
    obtained while Redis answers."""
    blynk_basic = (
        "Basic "
        + base64.b64encode(
            f"{world['blynk']['client_id']}:{world['blynk']['client_secret']}".encode()
        ).decode()
    )
    status, ems, _ = call(port, "POST", "/v1/auth/login", world["ems"])
    assert status == 200, ems
    status, blynk, _ = call(
        port, "POST", "/oauth2/token?grant_type=client_credentials", headers={"Authorization": blynk_basic}
    )
    assert status == 200, blynk
    bx = world["buildingx"]
    status, buildingx, _ = call(
        port,
        "POST",
        "/oauth/token",
        {
            "client_id": bx["client_id"],
            "client_secret": bx["client_secret"],
            "audience": django_settings.BUILDINGX_AUDIENCE,
            "grant_type": "client_credentials",
        },
    )
    assert status == 200, buildingx
    user = world["blynk"]["user"]
    point = f"/ingest/partitions/{bx['partition_id']}/points/{bx['point_id']}/values"
    series_id = world["iotorq"]["variable_ids"][0]
    return {
        "iotorq import": (
            "POST",
            "/ems/api/import/",
            [{"id_type": "pk", "id_value": series_id, "series": {"datetime": [1_500_000_000], "val": [2.5]}}],
            {"Authorization": f"Token {world['iotorq']['token']}"},
            202,
        ),
        "blynk values": (
            "GET",
            "/api/v2/organization/device/datastreams?deviceId=101",
            None,
            {"Authorization": f"Bearer {blynk['access_token']}"},
            200,
        ),
        "blynk login": (
            "POST",
            f"/oauth2/token?grant_type=password&username={user['username']}&password={user['password']}",
            None,
            {"Authorization": blynk_basic},
            200,
        ),
        "buildingx read": ("GET", point, None, {"Authorization": f"Bearer {buildingx['access_token']}"}, 200),
        "gavazzi devices": ("GET", "/v1/devices", None, {"Authorization": f"Bearer {ems['token']}"}, 200),
        "gavazzi login": ("POST", "/v1/auth/login", world["ems"], None, 200),
    }


def run_all(port: int, requests: dict) -> tuple[dict, dict]:
    statuses, seconds = {}, {}
    for name, (method, path, body, headers, _) in requests.items():
        try:
            statuses[name], _, seconds[name] = call(port, method, path, body, headers)
        except TimeoutError:
            statuses[name] = f"no answer within {CLIENT_TIMEOUT_SECONDS} s"
    return statuses, seconds


@pytest.mark.django_db(transaction=True)
def test_gunicorn_keeps_answering_every_dialect_while_its_redis_is_stopped_or_frozen(stack):
    world, redis, port = stack
    requests = dialect_requests(world, port)
    expected = {name: status for name, (*_, status) in requests.items()}
    assert call(port, "GET", "/healthz")[:2] == (
        200,
        {"status": "ok", "database": "up", "cache": "up", "broker": "up"},
    )

    redis.kill()
    stopped, stopped_seconds = run_all(port, requests)
    stopped_health = call(port, "GET", "/healthz")
    redis.start()  # the same port, empty
    redis.pause()
    frozen, frozen_seconds = run_all(port, requests)
    frozen_health = call(port, "GET", "/healthz")
    redis.resume()

    degraded = {"status": "degraded", "database": "up", "cache": "down", "broker": "down"}
    assert stopped == expected
    assert stopped_health[:2] == (200, degraded)
    assert frozen == expected
    assert frozen_health[:2] == (200, degraded)
    for label, seconds in (("stopped", stopped_seconds), ("frozen", frozen_seconds)):
        print(f"Redis {label}: " + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in seconds.items()))
    print(f"/healthz: stopped {stopped_health[2] * 1000:.0f} ms, frozen {frozen_health[2] * 1000:.0f} ms")
