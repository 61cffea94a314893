"""Building X point-value ingest over HTTP: `make bench`.

Serves the project with gunicorn on a loopback port against the benchmark database and, from 8
concurrent client threads, POSTs 100-value documents to one point, back to back, for a fixed time.
Every request carries timestamps of its own, so every value is really written (each answer must
be 204). Each client keeps its connection open between requests where the server allows it (as an
HTTP/1.1 client library does), and encodes its documents with a cheap formatter, so that the load
generator takes as little of the shared CPU as it can. Reported: requests per second (the median
of BENCH_WINDOWS measured windows), values per second, the median, 95th and 99th percentile
latency, and the CPU time each request cost the app (gunicorn workers), PostgreSQL and the load
generator, measured from /proc over the windows: with two cores, 2 s of CPU a second is all there
is, so those costs bound the rate.

For scale, the same 100-value writes are also timed straight through the store
(`store.write(batch, KEEP)`, one at a time, in this process): the floor under the HTTP path.

The load generator runs on the same machine as the app and the database and competes with them
for the CPU; on a 2-core machine the figures are those of the whole stack sharing two cores.

gunicorn runs with the settings of gunicorn.conf.py (what production runs) unless
BENCH_WEB_WORKERS / BENCH_WEB_THREADS say otherwise.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench_buildingx; created
when missing and migrated), BENCH_SECONDS (length of a measured window, default 5), BENCH_WINDOWS
(default 3), BENCH_WARMUP_SECONDS (default 3), BENCH_CLIENTS (default 8), BENCH_WEB_WORKERS and
BENCH_WEB_THREADS (gunicorn; default: gunicorn.conf.py's), BENCH_KEEPALIVE (default 1: clients
reuse their connection; 0: a new connection per request).
"""

import functools
import http.client
import itertools
import os
import runpy
import statistics
import sys
import threading
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench_buildingx")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import (
    Figure,
    child_pids,
    cpu_seconds,
    database_backend_pids,
    ensure_database,
    free_port,
    gunicorn_start,
    healthz_ok,
    load_average,
    print_figures,
    server_env,
    wait_until,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WINDOWS = int(os.environ.get("BENCH_WINDOWS", "3"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
WEB_WORKERS = os.environ.get("BENCH_WEB_WORKERS")  # None: gunicorn.conf.py's
WEB_THREADS = os.environ.get("BENCH_WEB_THREADS")
KEEPALIVE = os.environ.get("BENCH_KEEPALIVE", "1") != "0"
VALUES = 100
SLUG = "bench-buildingx"
T0_MS = 1_609_459_200_000  # 2021-01-01T00:00:00Z
STORE_REPEATS = 200


def prepare() -> tuple[dict, int]:
    """The benchmark organization with one partition and point (and its series, emptied), and a
    machine user with a fresh secret."""
    from apps.access.models import Dialect, OAuthClient
    from apps.access.services import oauth_client_issue, oauth_client_secret_rotate
    from apps.inventory.models import Partition, Point
    from apps.tenancy.models import Organization
    from apps.timeseries.models import Series

    organization, _ = Organization.objects.get_or_create(slug=SLUG, defaults={"name": "Building X benchmark"})
    # A limit no benchmark request rate reaches.
    Organization.objects.filter(pk=organization.pk).update(requests_per_minute=10**9)
    partition, _ = Partition.objects.get_or_create(organization=organization, name="Bench building")
    series, _ = Series.objects.get_or_create(
        organization=organization, meter_code="bench-buildingx", defaults={"name": "Bench point"}
    )
    point, _ = Point.objects.get_or_create(
        organization=organization, partition=partition, name="Bench point", defaults={"series": series}
    )
    client = OAuthClient.objects.filter(organization=organization, client_id="bench-buildingx").first()
    issued = (
        oauth_client_secret_rotate(client=client)
        if client is not None
        else oauth_client_issue(
            organization=organization, dialect=Dialect.BUILDINGX, name="bench", client_id="bench-buildingx"
        )
    )
    credentials = {
        "client_id": issued.credential.client_id,
        "client_secret": issued.secret,
        "path": f"/ingest/partitions/{partition.uuid}/points/{point.uuid}/values",
    }
    return credentials, point.series_id


def empty(series_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [series_id])
        cursor.execute(
            "UPDATE timeseries_series SET last_ts = NULL, last_value = NULL WHERE id = %s", [series_id]
        )
        cursor.execute("VACUUM ANALYZE timeseries_sample")


def stored_count(series_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_sample WHERE series_id = %s", [series_id])
        return cursor.fetchone()[0]


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def document(n: int) -> bytes:
    """Request n's body: 100 values at timestamps no other request uses."""
    base = T0_MS + n * VALUES
    return orjson.dumps(
        {
            "data": [
                {
                    "type": "PointValue",
                    "attributes": {
                        "timestamp": _rfc3339(base + i),
                        "value": f"{(n * VALUES + i) % 100_000 / 7:.4f}",
                    },
                }
                for i in range(VALUES)
            ]
        }
    )


def _rfc3339(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=64)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


class Load:
    """CLIENTS threads posting back to back until `stop`; each request is counted in the window
    it started in (None: the warm-up)."""

    def __init__(self, port: int, path: str, token: str, windows: list[tuple[float, float]]):
        self.port, self.path = port, path
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.windows = windows
        self.latencies: list[list[float]] = [[] for _ in windows]
        self.sent = 0
        self.failures: list[str] = []
        self.stop = windows[-1][1]

    def window(self, at: float) -> int | None:
        for index, (start, end) in enumerate(self.windows):
            if start <= at < end:
                return index
        return None

    def client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            while True:
                body = document(next(self.numbers))
                started = time.perf_counter()
                if started >= self.stop:
                    return
                if not KEEPALIVE:
                    conn.close()
                try:
                    conn.request("POST", self.path, body=body, headers=self.headers)
                    response = conn.getresponse()
                    status, answer = response.status, response.read()
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()
                    status, answer = 0, repr(exc).encode()
                finished = time.perf_counter()
                with self.lock:
                    self.sent += 1
                    if status != 204:
                        self.failures.append(f"HTTP {status}: {answer[:200]!r}")
                    elif (index := self.window(started)) is not None:
                        self.latencies[index].append(finished - started)
        finally:
            conn.close()

    def run(self) -> None:
        threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class CpuMeter:
    """CPU seconds used by the app's workers, the database's backends and this process, sampled at
    each window's edges."""

    def __init__(self, server_pid: int, database: str):
        self.server_pid, self.database = server_pid, database
        self.pids: dict[str, set[int]] = {"app": set(), "database": set()}

    def sample(self) -> dict[str, float]:
        self.pids["app"] |= set(child_pids(self.server_pid))
        self.pids["database"] |= set(database_backend_pids(self.database))
        return {
            "app": cpu_seconds(sorted(self.pids["app"])),
            "database": cpu_seconds(sorted(self.pids["database"])),
            "load generator": time.process_time(),
        }


def store_floor(series_id: int) -> float:
    """Median seconds of one 100-value store.write (KEEP) of fresh timestamps, in this process."""
    from django.db import connection

    from apps.timeseries import store

    start = T0_MS - 10**9  # before every HTTP-written value
    timings = []
    for r in range(STORE_REPEATS):
        ts = [start + r * VALUES + i for i in range(VALUES)]
        batch = store.SampleBatch([series_id] * VALUES, ts, [float(i) for i in range(VALUES)], None)
        started = time.perf_counter()
        store.write(batch, store.Policy.KEEP)
        timings.append(time.perf_counter() - started)
    connection.close()
    return statistics.median(timings)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    credentials, series_id = prepare()
    empty(series_id)
    database = connection.settings_dict["NAME"]
    connection.close()  # the app gets the database to itself while timed

    port = free_port()
    options = ["--workers", WEB_WORKERS] if WEB_WORKERS else []
    if WEB_THREADS:
        options += ["--threads", WEB_THREADS]
    server = gunicorn_start(port, *options, env=server_env(LOG_LEVEL="WARNING"))
    threads = server_settings()
    load_before = load_average()
    try:
        wait_until("gunicorn", lambda: healthz_ok(port), timeout=30)
        status, answer = call(
            port,
            "POST",
            "/oauth/token",
            orjson.dumps(
                {
                    "client_id": credentials["client_id"],
                    "client_secret": credentials["client_secret"],
                    "audience": "https://horizon.siemens.com",
                    "grant_type": "client_credentials",
                }
            ),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            sys.exit(f"token request refused: HTTP {status} {answer!r}")
        start = time.perf_counter() + WARMUP_SECONDS
        windows = [(start + i * SECONDS, start + (i + 1) * SECONDS) for i in range(WINDOWS)]
        load = Load(port, credentials["path"], orjson.loads(answer)["access_token"], windows)
        meter = CpuMeter(server.pid, database)
        samples = []

        def sample_at_edges() -> None:
            for edge in [windows[0][0]] + [end for _, end in windows]:
                time.sleep(max(0.0, edge - time.perf_counter()))
                samples.append(meter.sample())

        sampler = threading.Thread(target=sample_at_edges)
        sampler.start()
        load.run()
        sampler.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    if load.failures:
        sys.exit(f"{len(load.failures)} requests failed, e.g. {load.failures[0]}")
    written = stored_count(series_id)
    if written != load.sent * VALUES:
        sys.exit(f"stored {written} values, expected {load.sent * VALUES}")
    floor = store_floor(series_id)
    empty(series_id)
    load_after = load_average()

    rates = [len(latencies) / SECONDS for latencies in load.latencies]
    rps = statistics.median(rates)
    measured = sum(len(latencies) for latencies in load.latencies)
    latencies_ms = [latency * 1000 for window in load.latencies for latency in window]
    cpu_ms = {part: (samples[-1][part] - samples[0][part]) * 1000 / measured for part in samples[0]}
    cpu_total = sum(cpu_ms.values())
    cores = os.cpu_count() or 1
    print()
    print(
        f"Building X ingest over HTTP: POST {VALUES} values a request, {CLIENTS} concurrent clients "
        f"({'keep-alive' if KEEPALIVE else 'a new connection per request'}), gunicorn {threads}, loopback"
    )
    print(
        f"{WINDOWS} windows of {SECONDS:.0f} s after {WARMUP_SECONDS:.0f} s warm-up; every request 204 and "
        f"stored ({load.sent:,} requests, {written:,} values in all)"
    )
    print()
    windows_text = ", ".join(f"{rate:,.0f}" for rate in rates)
    print(f"{'requests per second (median window)':<44} {rps:>10,.0f}   (windows: {windows_text})")
    print(f"{'values per second':<44} {rps * VALUES:>10,.0f}")
    print(f"{'median latency':<44} {statistics.median(latencies_ms):>10.1f} ms")
    print(f"{'95th percentile latency':<44} {percentile(latencies_ms, 0.95):>10.1f} ms")
    print(f"{'99th percentile latency':<44} {percentile(latencies_ms, 0.99):>10.1f} ms")
    print(f"{'store.write of 100 values, alone (median)':<44} {floor * 1000:>10.1f} ms")
    print(
        f"{'CPU per request':<44} {cpu_total:>10.2f} ms  ("
        + ", ".join(f"{part} {ms:.2f}" for part, ms in cpu_ms.items())
        + f"): {cores} cores allow at most {cores * 1000 / cpu_total:,.0f} requests/s"
    )
    server_ms = cpu_ms["app"] + cpu_ms["database"]
    print(
        f"{'CPU per request, app and database only':<44} {server_ms:>10.2f} ms  (with the load generator on "
        f"another machine: at most {cores * 1000 / server_ms:,.0f} requests/s)"
    )
    print_figures(
        "Building X",
        [
            Figure(
                "buildingx-rps",
                "Building X, 100 values a request, 8 clients, gunicorn",
                f"no reference; CPU {cpu_total:.2f} ms a request (app {cpu_ms['app']:.2f}, database "
                f"{cpu_ms['database']:.2f}, load generator {cpu_ms['load generator']:.2f}): "
                f"{cores} cores allow {cores * 1000 / cpu_total:,.0f}/s, "
                f"{cores * 1000 / server_ms:,.0f}/s without the generator",
                f"{rps * VALUES:,.0f} values/s, {threads}",
                f"{rps:,.0f}/s",
                rps,
                400,
                "higher",
                "requests/s",
            )
        ],
        load=f"{load_before}; after: {load_after}",
    )


def server_settings() -> str:
    """How gunicorn runs: gunicorn.conf.py's settings, as overridden on the command line."""
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    workers = int(WEB_WORKERS or settings.get("workers", 1))
    threads = int(WEB_THREADS or settings.get("threads", 1))
    kind = "gthread" if threads > 1 else settings.get("worker_class", "sync")
    plural = "s" if workers != 1 else ""
    return f"{workers} {kind} worker{plural}" + (f" x {threads} threads" if threads > 1 else "")


if __name__ == "__main__":
    main()
