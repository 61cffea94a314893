"""Building X point-value ingest over HTTP: `make bench`.

Serves the project with gunicorn (several sync workers) on a loopback port against the benchmark
database and, from 8 concurrent client threads, POSTs 100-value documents to one point for a fixed
time. Every request carries timestamps of its own, so every value is really written (each answer
must be 204). Reported: requests per second, values per second, and the median, 95th and 99th
percentile latency of the requests after a warm-up.

For scale, the same 100-value writes are also timed straight through the store
(`store.write(batch, KEEP)`, one at a time, in this process): the floor under the HTTP path.

The load generator runs on the same machine as the app and the database and competes with them
for the CPU; on a 2-core machine the figures are those of the whole stack sharing two cores.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench_buildingx; created
when missing and migrated), BENCH_SECONDS (measured duration, default 15), BENCH_WARMUP_SECONDS
(default 3), BENCH_CLIENTS (default 8), BENCH_WEB_WORKERS (gunicorn sync workers, default
2 x cores + 1).
"""

import http.client
import itertools
import os
import secrets
import socket
import statistics
import subprocess
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

from bench.store import ensure_database

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
# gunicorn's rule of thumb for sync workers: two per core plus one.
WEB_WORKERS = os.environ.get("BENCH_WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class Load:
    """CLIENTS threads posting back to back until `stop`; latencies after `measure_from` count."""

    def __init__(self, port: int, path: str, token: str):
        self.port, self.path = port, path
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.sent = 0
        self.failures: list[str] = []
        self.measure_from = self.stop = 0.0

    def client(self) -> None:
        while True:
            body = document(next(self.numbers))
            started = time.perf_counter()
            if started >= self.stop:
                return
            status, answer = call(self.port, "POST", self.path, body, self.headers)
            finished = time.perf_counter()
            with self.lock:
                self.sent += 1
                if status != 204:
                    self.failures.append(f"HTTP {status}: {answer[:200]!r}")
                elif started >= self.measure_from:
                    self.latencies.append(finished - started)

    def run(self) -> float:
        """Run the load; returns the measured window's length in seconds."""
        now = time.perf_counter()
        self.measure_from = now + WARMUP_SECONDS
        self.stop = self.measure_from + SECONDS
        threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return SECONDS


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
    connection.close()  # the app gets the database to itself while timed

    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "ems.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            WEB_WORKERS,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if call(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("gunicorn did not start")
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
        load = Load(port, credentials["path"], orjson.loads(answer)["access_token"])
        seconds = load.run()
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

    measured = len(load.latencies)
    rps = measured / seconds
    latencies_ms = [latency * 1000 for latency in load.latencies]
    print()
    print(
        f"Building X ingest over HTTP: POST {VALUES} values a request, {CLIENTS} concurrent clients, "
        f"gunicorn {WEB_WORKERS} sync workers, loopback"
    )
    print(
        f"{seconds:.0f} s measured after {WARMUP_SECONDS:.0f} s warm-up; every request 204 and stored "
        f"({load.sent:,} requests, {written:,} values in all)"
    )
    print()
    print(f"{'requests per second':<44} {rps:>10,.0f}")
    print(f"{'values per second':<44} {rps * VALUES:>10,.0f}")
    print(f"{'median latency':<44} {statistics.median(latencies_ms):>10.1f} ms")
    print(f"{'95th percentile latency':<44} {percentile(latencies_ms, 0.95):>10.1f} ms")
    print(f"{'99th percentile latency':<44} {percentile(latencies_ms, 0.99):>10.1f} ms")
    print(f"{'store.write of 100 values, alone (median)':<44} {floor * 1000:>10.1f} ms")


if __name__ == "__main__":
    main()
