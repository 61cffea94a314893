"""A real Celery worker on Redis processes an import end to end.

PostgreSQL only: the worker is another process, and it cannot see the SQLite database of a test
run. The test is transactional, so the worker sees committed rows. The worker uses its own Redis
database and a queue of its own, so parallel runs never meet it.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from rest_framework.test import APIClient

from apps.imports.models import ImportJob
from apps.inventory.demo import demo_seed
from apps.tenancy.services import roles_sync
from ems.celery import app
from tests.celery_support import producers_reset

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/7")
DEADLINE_SECONDS = 60
VENDOR_EXAMPLE = [
    {
        "id_type": "meter_code",
        "id_value": "my_meter_code1",
        "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [1, 2, 3]},
    },
    {
        "id_type": "meter_code",
        "id_value": "my_meter_code2",
        "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [2.0, 5.5, 4.1]},
    },
]


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _test_database_url() -> str:
    s = connection.settings_dict
    credentials = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(s['NAME'], safe='')}"


@pytest.fixture
def committed_demo(transactional_db):
    """The demo organization, committed. An earlier transactional test's flush removed the shipped
    roles: they are synced first, as their data migration does."""
    roles_sync()
    return demo_seed(slug="demo")


@pytest.fixture
def worker(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot see the test run's SQLite database")
    if not _redis_answers():
        pytest.skip(f"Redis does not answer at {BROKER_URL}")
    queue = f"ems-test-imports-{uuid.uuid4().hex}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "ems.settings",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "ems", "worker", "--pool", "solo", "--queues", queue),
        *("--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"),
    ]
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False, task_default_queue=queue)
    producers_reset()
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        app.conf.update(saved)
        producers_reset()
        broker = redis.Redis.from_url(BROKER_URL)
        for key in broker.scan_iter(match=f"*{queue}*"):  # the queue, its priority lists, its binding
            broker.delete(key)


def test_a_real_worker_on_redis_writes_an_accepted_import(worker, committed_demo):
    demo = committed_demo
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {demo['iotorq']['token']}")

    response = client.post("/ems/api/import/", VENDOR_EXAMPLE, format="json")

    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["job"])
    deadline = time.monotonic() + DEADLINE_SECONDS
    while job.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == "done", worker.read_text()[-3000:]
    assert (job.written, job.attempts) == (6, 1)
    status = client.get(response.headers["Location"]).json()
    assert (status["status"], status["written"]) == ("done", 6)
    code1, code2 = demo["iotorq"]["variable_ids"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT series_id, ts, value FROM timeseries_sample WHERE series_id IN (%s, %s)"
            " AND ts < 1494880200000 ORDER BY series_id, ts",
            [code1, code2],
        )
        rows = cursor.fetchall()
    t0 = 1494880000000
    assert sorted(rows) == sorted(
        [(code1, t0 + i * 60_000, v) for i, v in enumerate([1.0, 2.0, 3.0])]
        + [(code2, t0 + i * 60_000, v) for i, v in enumerate([2.0, 5.5, 4.1])]
    )
