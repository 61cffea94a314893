"""ioTORQ import end to end: `make bench`.

Serves the project with gunicorn on a loopback port and runs a real Celery worker on Redis,
both against the benchmark database, then times a batch of 2 MB import requests (~68,000 points
each, the most the dialect accepts in one request) from the first byte of the first request to
every job reported `done` by the status endpoint. In the same run, the same points are written:

- by a direct binary COPY into the sample table, one transaction per request: the reference of
  issue #8 (the database's own bulk-load speed, with nothing of the app around it);
- straight through the store (`store.write(batch, OVERWRITE)`, one call per request), which is
  the floor under what the import path can reach;
- with Django's `bulk_create(update_conflicts=True)` on the Sample model, the naive alternative
  (on the first BENCH_NAIVE_REQUESTS requests only: it is slow; its rate is the median request's).

Each measurement starts from the benchmark series without samples, so all of them write new
points. End to end, COPY and store take turns, BENCH_REPEATS times; the medians are reported.

Also measured: the peak memory (VmHWM, the high-water mark of the resident set) of the Celery
worker's pool processes, which run the imports, after the warm-up import and after all runs.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench_iotorq; created
when missing and migrated), BENCH_BROKER_URL (default redis://127.0.0.1:6379/5; the worker listens
on a queue of its own), BENCH_REQUESTS (default 10), BENCH_REPEATS (default 3),
BENCH_NAIVE_REQUESTS (default 3), BENCH_WEB_WORKERS (gunicorn, default 2),
BENCH_CELERY_CONCURRENCY (default 2).
"""

import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench_iotorq")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import (
    Figure,
    celery_worker_start,
    child_pids,
    copy_rows,
    ensure_database,
    free_port,
    gunicorn_start,
    healthz_ok,
    load_average,
    print_figures,
    queue_purge,
    ratio_figure,
    server_env,
    status_kib,
    wait_until,
)

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "10"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
NAIVE_REQUESTS = int(os.environ.get("BENCH_NAIVE_REQUESTS", "3"))
WEB_WORKERS = os.environ.get("BENCH_WEB_WORKERS", "2")
CELERY_CONCURRENCY = os.environ.get("BENCH_CELERY_CONCURRENCY", "2")
VARIABLES = 10  # per request
BODY_LIMIT = 2_097_152
T0 = 1_600_000_000  # seconds; 2020-09-13
STEP = 60
SLUG = "bench-iotorq"
DEADLINE_SECONDS = 600


def prepare() -> tuple[str, list[int]]:
    """The benchmark organization, a fresh API key and its series, emptied of samples."""
    from django.contrib.auth import get_user_model

    from apps.access.models import ApiToken
    from apps.access.services import api_token_issue, api_token_revoke
    from apps.imports.models import ImportJob
    from apps.tenancy.models import Organization
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    organization, _ = Organization.objects.get_or_create(slug=SLUG, defaults={"name": "ioTORQ benchmark"})
    # A limit no benchmark request rate reaches.
    Organization.objects.filter(pk=organization.pk).update(requests_per_minute=10**9)
    user, _ = get_user_model().objects.get_or_create(username="bench-iotorq")
    membership_grant(user=user, organization=organization, role_slugs=[])
    for token in ApiToken.objects.filter(organization=organization, revoked_at=None):
        api_token_revoke(token=token)
    key = api_token_issue(organization=organization, user=user, name="bench").secret
    codes = [f"iotorq-{i:03d}" for i in range(VARIABLES)]
    for code in codes:
        Series.objects.get_or_create(organization=organization, meter_code=code, defaults={"name": code})
    by_code = dict(Series.objects.filter(organization=organization).values_list("meter_code", "pk"))
    ImportJob.objects.filter(organization=organization).delete()
    return key, [by_code[code] for code in codes]


def empty(series_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = ANY(%s)", [series_ids])
        cursor.execute(
            "UPDATE timeseries_series SET last_ts = NULL, last_value = NULL WHERE id = ANY(%s)", [series_ids]
        )
        cursor.execute("VACUUM ANALYZE timeseries_sample")


def stored_count(series_ids: list[int]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_sample WHERE series_id = ANY(%s)", [series_ids])
        return cursor.fetchone()[0]


def bodies(count: int) -> list[tuple[bytes, list]]:
    """`count` request bodies of just under 2 MB, and each body's items. Request r holds every
    variable's points for its own stretch of time. Values are doubles written in full (17
    significant digits, as computed values serialize), which gives the ~68,000 points per 2 MB
    that ARCHITECTURE.md plans for."""
    rng = random.Random(4711)

    def build(r: int, per: int) -> list:
        items = []
        for v in range(VARIABLES):
            start = T0 + r * per * STEP
            items.append(
                {
                    "id_type": "meter_code",
                    "id_value": f"iotorq-{v:03d}",
                    "series": {
                        "datetime": [start + i * STEP for i in range(per)],
                        "val": [rng.uniform(0, 50_000) for _ in range(per)],
                    },
                }
            )
        return items

    probe = len(orjson.dumps(build(0, 1000)))
    per = int(1000 * BODY_LIMIT / probe * 0.995)
    while len(orjson.dumps(build(0, per))) > BODY_LIMIT:
        per -= 50
    return [(orjson.dumps(items), items) for items in (build(r, per) for r in range(count))]


class Api:
    """One keep-alive connection to the app."""

    def __init__(self, port: int, key: str):
        self.port, self.key = port, key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, dict]:
        headers = {"Authorization": f"Token {self.key}", "Content-Type": "application/json"}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), orjson.loads(data) if data else {}


def end_to_end(api: Api, payloads: list[bytes]) -> tuple[float, list[float]]:
    """Seconds from the first request's first byte to every job reported done; accept latencies."""
    locations, latencies = [], []
    started = time.perf_counter()
    for body in payloads:
        sent = time.perf_counter()
        status, headers, answer = api.call("POST", "/ems/api/import/", body)
        latencies.append(time.perf_counter() - sent)
        if status != 202:
            sys.exit(f"import refused: HTTP {status} {answer}")
        locations.append(headers["Location"])
    pending = list(locations)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while pending:
        status, _, answer = api.call("GET", pending[0])
        if answer.get("status") == "failed":
            sys.exit(f"job failed: {answer}")
        if answer.get("status") == "done":
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            sys.exit(f"jobs not done after {DEADLINE_SECONDS} s: {answer}")
        time.sleep(0.01)
    return time.perf_counter() - started, latencies


def direct_copy(batches: list[tuple[list[int], list[int], list[float]]]) -> float:
    """The reference: each request's points by binary COPY straight into the sample table, one
    transaction per request."""
    from django.db import connection, transaction

    started = time.perf_counter()
    for series_ids, ts, values in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_rows(cursor, "timeseries_sample", zip(series_ids, ts, values, [None] * len(ts), strict=True))
    return time.perf_counter() - started


def direct_write(batches: list[tuple[list[int], list[int], list[float]]]) -> float:
    from apps.timeseries.store import Policy, SampleBatch, write

    started = time.perf_counter()
    for series_ids, ts, values in batches:
        write(SampleBatch(series_ids=series_ids, ts=ts, values=values), Policy.OVERWRITE)
    return time.perf_counter() - started


def naive_bulk_create(batches: list[tuple[list[int], list[int], list[float]]]) -> list[float] | None:
    """Django's own upsert, one request's points per transaction; the seconds of each. It does not
    keep the series' latest sample, which the store does."""
    from django.db import transaction

    from apps.timeseries.models import Sample

    timings = []
    try:
        for series_ids, ts, values in batches:
            started = time.perf_counter()
            with transaction.atomic():
                Sample.objects.bulk_create(
                    [
                        Sample(series_id=s, ts=t, value=v)
                        for s, t, v in zip(series_ids, ts, values, strict=True)
                    ],
                    batch_size=5_000,
                    update_conflicts=True,
                    unique_fields=["series", "ts"],
                    update_fields=["value", "quality"],
                )
            timings.append(time.perf_counter() - started)
    except Exception as exc:  # a Django without composite-key upserts: report, do not fail the bench
        print(f"bulk_create(update_conflicts=True) not measured: {exc}")
        return None
    return timings


def pool_memory_kib(worker_pid: int, field: str) -> int:
    """The largest `field` (VmHWM, VmRSS) among the worker's pool processes."""
    figures = [status_kib(pid, field) for pid in child_pids(worker_pid)]
    return max((figure for figure in figures if figure is not None), default=0)


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    key, series_ids = prepare()
    empty(series_ids)
    requests = bodies(REQUESTS)
    payloads = [body for body, _ in requests]
    by_code = {f"iotorq-{v:03d}": sid for v, sid in enumerate(series_ids)}
    batches = []
    for _, items in requests:
        sids, ts, values = [], [], []
        for item in items:
            n = len(item["series"]["datetime"])
            sids += [by_code[item["id_value"]]] * n
            ts += [t * 1000 for t in item["series"]["datetime"]]
            values += item["series"]["val"]
        batches.append((sids, ts, values))
    points = sum(len(ts) for _, ts, _ in batches)
    connection.close()  # the app and the worker get the database to themselves while timed

    port = free_port()
    queue = f"bench-iotorq-{uuid.uuid4().hex[:12]}"
    env = server_env(CELERY_BROKER_URL=BROKER_URL, CELERY_TASK_DEFAULT_QUEUE=queue, LOG_LEVEL="WARNING")
    web = gunicorn_start(port, "--workers", WEB_WORKERS, env=env)
    worker = celery_worker_start(queue, concurrency=CELERY_CONCURRENCY, env=env)
    load_before = load_average()
    end_to_end_runs, copy_runs, store_runs, latencies = [], [], [], []
    try:
        api = Api(port, key)
        wait_until("gunicorn", lambda: healthz_ok(port))
        # Warm-up: one small import through app and worker, so that both are up and connected.
        warm = orjson.dumps(
            [{"id_type": "meter_code", "id_value": "iotorq-000", "series": {"datetime": [1], "val": [0]}}]
        )
        status, headers, answer = api.call("POST", "/ems/api/import/", warm)
        if status != 202:
            sys.exit(f"warm-up import refused: HTTP {status} {answer}")
        wait_until("the worker", lambda: api.call("GET", headers["Location"])[2]["status"] == "done", 120)
        memory_idle = pool_memory_kib(worker.pid, "VmHWM")
        for _ in range(REPEATS):
            empty(series_ids)  # the previous run's samples (or the warm-up's), outside the timing
            connection.close()
            seconds, accepted = end_to_end(api, payloads)
            end_to_end_runs.append(seconds)
            latencies += accepted
            assert stored_count(series_ids) == points, (stored_count(series_ids), points)
            empty(series_ids)
            copy_runs.append(direct_copy(batches))
            assert stored_count(series_ids) == points
            empty(series_ids)
            store_runs.append(direct_write(batches))
            assert stored_count(series_ids) == points
        memory_peak = pool_memory_kib(worker.pid, "VmHWM")
        pool_processes = len(child_pids(worker.pid))
    finally:
        for process in (web, worker):
            process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        queue_purge(BROKER_URL, queue)

    empty(series_ids)
    naive_runs = naive_bulk_create(batches[:NAIVE_REQUESTS])
    empty(series_ids)
    load_after = load_average()

    seconds = statistics.median(end_to_end_runs)
    copy = statistics.median(copy_runs)
    direct = statistics.median(store_runs)
    # bulk_create ran on fewer requests: its time for all of them at its median request's rate
    naive = statistics.median(naive_runs) * REQUESTS if naive_runs else None

    def row(label: str, secs: float | None) -> str:
        if secs is None:
            return f"{label:<62} {'n/a':>14}"
        return (
            f"{label:<62} {points / secs:>14,.0f} points/s {secs:>8.2f} s {direct / secs:>8.2f}x"
            f" {copy / secs:>8.2f}x"
        )

    def rate(secs: float) -> str:
        return f"{points / secs:,.0f} points/s"

    body_bytes = statistics.mean(len(p) for p in payloads)
    print()
    print(f"ioTORQ import on PostgreSQL, database {connection.settings_dict['NAME']!r}, broker {BROKER_URL}")
    print(
        f"{REQUESTS} requests of {body_bytes:,.0f} bytes, {points // REQUESTS:,} points each "
        f"({VARIABLES} variables), {points:,} points in all; new points; median of {REPEATS} runs "
        f"(bulk_create: median of {NAIVE_REQUESTS} requests)"
    )
    print(f"gunicorn: {WEB_WORKERS} sync workers; celery: {CELERY_CONCURRENCY} prefork processes")
    print()
    print(f"{'':<62} {'rate':>23} {'time':>10} {'vs store':>9} {'vs COPY':>9}")
    print(row("end to end: first byte to every job done (HTTP + worker)", seconds))
    print(row("direct binary COPY, one transaction per request, in process", copy))
    print(row("store.write(OVERWRITE), one call per request, in process", direct))
    print(row("Django bulk_create(update_conflicts=True), in process", naive))
    print()
    print(
        f"202 latency per 2 MB request (validate, resolve, store the job): median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(
        f"Celery pool processes ({pool_processes}): peak resident memory {memory_idle / 1024:.0f} MiB after "
        f"the warm-up, {memory_peak / 1024:.0f} MiB after {REPEATS * REQUESTS} imports of 2 MB"
    )

    figures = [
        ratio_figure(
            "iotorq-vs-copy",
            "ioTORQ import end to end (2 MB requests -> job done)",
            reference=f"direct binary COPY of the same points: {rate(copy)}",
            seconds=seconds,
            reference_seconds=copy,
            target=0.35,
            rate=rate(seconds),
        )
    ]
    if naive is not None:
        figures.append(
            ratio_figure(
                "iotorq-vs-bulk-create",
                "same, against the naive way",
                reference=f"Django bulk_create(update_conflicts=True): {rate(naive)}",
                seconds=seconds,
                reference_seconds=naive,
                target=5,
                rate=rate(seconds),
            )
        )
    figures.append(
        Figure(
            "worker-peak-memory",
            "peak memory of a worker importing a 2 MB request",
            f"no reference; {memory_idle / 1024:.0f} MiB after a 1-point import (VmHWM)",
            f"VmHWM of the pool processes ({pool_processes})",
            f"{memory_peak / 1024:.0f} MiB",
            memory_peak / 1024,
            250,
            "lower",
            "MiB",
        )
    )
    print_figures("ioTORQ import", figures, load=f"{load_before}; after: {load_after}")


if __name__ == "__main__":
    main()
