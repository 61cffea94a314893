"""Write order with a real Celery worker on Redis: an import job never undoes a write accepted
after it, whether that write was acknowledged before the worker took the job or while it ran,
and of two imports of one range the later-accepted wins even when a worker runs it first.

PostgreSQL only (the worker is another process); see the `worker_queue` fixture (conftest.py).
"""

import random
import threading
import time
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest
import redis
from django.db import connection, connections
from rest_framework.test import APIClient

from apps.imports.models import ImportJob
from apps.imports.services import ImportPoints, VariableRef, import_accept
from apps.imports.tasks import import_run_task
from apps.inventory.models import Point
from apps.tenancy.models import Organization
from apps.timeseries.store import Policy, SampleBatch, write
from tests.imports.conftest import BROKER_URL
from tests.reliability.crash_support import tail

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 180
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
JSONAPI = "application/vnd.api+json"


def wait_done(jobs: list[ImportJob], log) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    for job in jobs:
        while job.status not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            job.refresh_from_db()
        assert job.status == "done", tail(log)


def stored_range(series_id: int, start: int, end: int) -> dict[int, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value FROM timeseries_sample WHERE series_id = %s AND ts >= %s AND ts < %s",
            [series_id, start, end],
        )
        return dict(cursor.fetchall())


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def buildingx_client(demo) -> APIClient:
    creds = demo["buildingx"]
    body = {
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "audience": "https://horizon.siemens.com",
        "grant_type": "client_credentials",
    }
    token = APIClient().post("/oauth/token", body, format="json").json()["access_token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_writes_acknowledged_before_and_while_a_worker_runs_an_older_import_are_not_undone(
    worker_queue, committed_demo
):
    demo = committed_demo
    creds = demo["buildingx"]
    series_id = Point.objects.get(uuid=creds["point_id"]).series_id
    n = 200_000
    ts = T0 + np.arange(n, dtype=np.int64) * MINUTE
    imported = np.arange(n, dtype=np.float64)
    job = import_accept(
        organization=Organization.objects.get(slug="demo"),
        user=None,
        dialect="csv",
        points=ImportPoints([VariableRef(series_id=series_id)], np.asarray([n]), ts, imported),
    )
    assert job.status == "queued"  # no worker yet: the job waits, as a busy queue would make it

    # Building X, overwrite=true, 100 of the import's timestamps spread over its range: 204, read back.
    api = buildingx_client(demo)
    path = f"/ingest/partitions/{creds['partition_id']}/points/{creds['point_id']}/values"
    chosen = ts[:: n // 100][:100]
    document = {
        "data": [
            {"type": "PointValue", "attributes": {"timestamp": iso(int(t)), "value": str(1_000_000 + k)}}
            for k, t in enumerate(chosen)
        ]
    }
    written = api.post(f"{path}?overwrite=true", data=orjson.dumps(document), content_type=JSONAPI)
    assert written.status_code == 204
    window = f"filter[timestamp][gte]={iso(int(chosen[7]))}&filter[timestamp][lt]={iso(int(chosen[7]) + 1)}"
    read = api.get(f"{path}?{window}").json()["data"]
    assert [item["attributes"]["value"] for item in read] == ["1000007"]

    # A concurrent writer keeps overwriting timestamps of the range while the worker runs the job.
    acknowledged: dict[int, float] = {}
    while_running = []
    stop = threading.Event()

    def writer():
        rng = random.Random(5)
        try:
            for k in range(1_000_000):
                if stop.is_set():
                    return
                stamps = sorted({int(ts[rng.randrange(n)]) for _ in range(20)})
                value = float(2_000_000 + k)
                write(SampleBatch([series_id] * len(stamps), stamps, [value] * len(stamps)), Policy.OVERWRITE)
                acknowledged.update(dict.fromkeys(stamps, value))
                while_running.append(ImportJob.objects.filter(pk=job.pk, status="running").exists())
                time.sleep(0.01)
        finally:
            connections.close_all()

    worker_queue(chunk=5_000)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_done([job], worker_queue.log)
    finally:
        stop.set()
        thread.join(timeout=60)

    assert sum(while_running) >= 3  # the writer did write while the job was being applied
    expected = dict(zip(ts.tolist(), imported.tolist(), strict=True))
    expected.update({int(t): float(1_000_000 + k) for k, t in enumerate(chosen)})
    expected.update(acknowledged)
    assert stored_range(series_id, T0, T0 + n * MINUTE) == expected


def test_of_two_imports_of_one_range_the_later_accepted_wins_when_a_worker_runs_it_first(
    worker_queue, committed_demo
):
    demo = committed_demo
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {demo['iotorq']['token']}")
    code = demo["iotorq"]["meter_codes"][0]
    series_id = demo["iotorq"]["variable_ids"][0]
    seconds = [T0 // 1000 + 60 * i for i in range(3_000)]

    def send(value: float) -> ImportJob:
        body = [
            {
                "id_type": "meter_code",
                "id_value": code,
                "series": {"datetime": seconds, "val": [value] * 3_000},
            }
        ]
        response = client.post("/ems/api/import/", body, format="json")
        assert response.status_code == 202
        return ImportJob.objects.get(pk=response.json()["job"])

    first, second = send(1.0), send(2.0)
    # The worker takes the later import first: its messages are put back in the other order.
    redis.Redis.from_url(BROKER_URL).delete(worker_queue.queue)
    import_run_task.delay(str(second.pk))
    import_run_task.delay(str(first.pk))
    worker_queue(chunk=500)

    wait_done([second, first], worker_queue.log)

    assert second.finished_at < first.finished_at  # applied in the reverse of acceptance order
    assert set(stored_range(series_id, T0, T0 + 3_000 * MINUTE).values()) == {2.0}
