"""A real Celery worker on Redis processes an import end to end.

PostgreSQL only: the worker is another process, and it cannot see the SQLite database of a test
run. The test is transactional, so the worker sees committed rows. The worker uses its own Redis
database and a queue of its own (the `worker_queue` fixture), so parallel runs never meet it.
"""

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.imports.models import ImportJob

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

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


@pytest.fixture
def worker(worker_queue):
    """A worker running on the test's own queue; its log file."""
    worker_queue()
    return worker_queue.log


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
