"""Load: all four dialects at once, then a check that nothing accepted was lost (`make load`).

Serves the project with gunicorn on a loopback port and runs a real Celery worker on Redis, both
against a PostgreSQL database of the load test's own (created when missing and migrated), then
drives LOAD_CLIENTS concurrent clients (default 50) for LOAD_SECONDS (default 60) after a
warm-up of LOAD_WARMUP_SECONDS (5), each on one keep-alive connection, spread over the dialects:

- ioTORQ: imports (2 variables x 250 points, new timestamps each), and every fourth request the
  status of the client's last job;
- Blynk: history imports (200 values of the datastream of a device of the client's own), and
  every other request a page of that history;
- Building X: 100 values posted to a point of the client's own (`overwrite=false`), and every
  other request a page of them;
- EMS (Carlo Gavazzi): reads only (realtime of every signal, a day of one signal's rollups, the
  latest record of every signal, the device list).

Every write of a client carries timestamps no other request uses, to a series of its own. After
the run the script waits for every ioTORQ job to be done, then compares, series by series, the
number of stored samples with the number of points the server accepted (a 2xx answer), and prints
throughput and p50/p99 latency per dialect (of the requests sent after the warm-up, when every
web process has loaded its code and opened its database connections), the error count
(anything but the expected 2xx, and any broken connection, over the whole run) and the lost
points. The request limit and the Blynk import quota are raised
for the run by their settings (EMS_REQUESTS_PER_MINUTE, EMS_IMPORT_POINTS_PER_DEVICE_DAY); a
second organization then gets low limits through the ORM, and the script checks that every
dialect answers it 429 in its own shape with Retry-After, and that the quota refuses a Blynk
import that would pass it while storing nothing of it. The exit status is 1 on any error, lost
point or failed limit check.

Environment: LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_load; DATABASE_URL
is not used, so the load never lands in a development database), LOAD_REDIS_URL
(default redis://127.0.0.1:6379/6: the broker, on a queue of the run's own, and the cache that
holds the request counters, shared by every web process), LOAD_SECONDS (60),
LOAD_WARMUP_SECONDS (5), LOAD_CLIENTS (50), LOAD_WEB_WORKERS (3) and LOAD_WEB_THREADS (4) for
gunicorn, LOAD_CELERY_CONCURRENCY (2), LOAD_LOG_DIR (unset: the servers' output is discarded;
set: web.log and worker.log there, with a line per request). Loopback addresses only.
"""

import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A database of the load test's own, whatever DATABASE_URL the shell holds.
os.environ["DATABASE_URL"] = os.environ.get(
    "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_load"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import celery_worker_start, gunicorn_start, queue_purge, server_env, wait_until
from bench.store import ensure_database

REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/6")
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
WARMUP_SECONDS = float(os.environ.get("LOAD_WARMUP_SECONDS", "5"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
WEB_WORKERS = os.environ.get("LOAD_WEB_WORKERS", "3")
WEB_THREADS = os.environ.get("LOAD_WEB_THREADS", "4")
CELERY_CONCURRENCY = os.environ.get("LOAD_CELERY_CONCURRENCY", "2")
LOG_DIR = os.environ.get("LOAD_LOG_DIR", "")
HOST = "127.0.0.1"
SLUG, LIMITED_SLUG = "load", "load-limits"
DIALECTS = ("iotorq", "blynk", "buildingx", "ems")
NAMES = {"iotorq": "ioTORQ", "blynk": "Blynk", "buildingx": "Building X", "ems": "EMS (Gavazzi)"}
IOTORQ_VARIABLES, IOTORQ_POINTS = 2, 250
BLYNK_POINTS = 200
BUILDINGX_POINTS = 100
DAY_MS = 86_400_000
AUDIENCE = "https://horizon.siemens.com"
JOBS_DEADLINE_SECONDS = 600
# What a low-limit organization gets for the 429 check.
LIMITED_REQUESTS_PER_MINUTE = 20
LIMITED_POINTS_PER_DEVICE_DAY = 50


# --- setup, through the ORM -------------------------------------------------------------------


@dataclass
class Plan:
    """What one client writes to: its series, and how the dialect names them."""

    dialect: str
    index: int  # among all clients
    ordinal: int  # among the clients of its dialect
    series_ids: list[int]
    meter_codes: list[str] = field(default_factory=list)  # ioTORQ
    device_uid: int | None = None  # Blynk
    point_path: str | None = None  # Building X


def prepare() -> tuple[dict, dict, list[Plan]]:
    """Both organizations (demo objects and fresh credentials, from `demo_seed`), the load
    organization's per-client objects emptied of samples, and its jobs and quota counters
    removed. Returns the two organizations' credentials and the clients' plans."""
    from django.core.management import call_command
    from django.db import connection

    from apps.imports.models import ImportJob
    from apps.inventory.demo import demo_seed
    from apps.inventory.models import DataStream, Device, DeviceImportDay, Partition, Point, ValueType
    from apps.tenancy.models import Organization
    from apps.timeseries.models import Series

    call_command("migrate", verbosity=0, interactive=False)
    seed, limited_seed = demo_seed(slug=SLUG), demo_seed(slug=LIMITED_SLUG)
    # The load organization follows the settings (raised for the run); the other starts
    # unlimited and gets its low limits once its tokens are issued.
    Organization.objects.filter(slug=SLUG).update(requests_per_minute=None, import_points_per_device_day=None)
    Organization.objects.filter(slug=LIMITED_SLUG).update(
        requests_per_minute=None, import_points_per_device_day=None
    )
    organization = Organization.objects.get(slug=SLUG)
    partition = Partition.objects.get(organization=organization, uuid=seed["buildingx"]["partition_id"])

    def series(code: str) -> int:
        return Series.objects.get_or_create(
            organization=organization, meter_code=code, defaults={"name": code}
        )[0].pk

    plans = []
    for i in range(CLIENTS):
        dialect = DIALECTS[i % len(DIALECTS)]
        plan = Plan(dialect, i, i // len(DIALECTS), [])
        if dialect == "iotorq":
            plan.meter_codes = [f"load-{i:03d}-{v}" for v in range(IOTORQ_VARIABLES)]
            plan.series_ids = [series(code) for code in plan.meter_codes]
        elif dialect == "blynk":
            plan.device_uid = 10_000 + i
            device, _ = Device.objects.update_or_create(
                organization=organization, uid=plan.device_uid, defaults={"label": f"Load device {i}"}
            )
            series_id = series(f"load-{i:03d}-blynk")
            DataStream.objects.update_or_create(
                device=device,
                stream_id=1,
                defaults={
                    "organization": organization,
                    "pin": "v1",
                    "label": "Load",
                    "value_type": ValueType.DOUBLE,
                    "series_id": series_id,
                },
            )
            plan.series_ids = [series_id]
        elif dialect == "buildingx":
            series_id = series(f"load-{i:03d}-buildingx")
            point, _ = Point.objects.update_or_create(
                organization=organization,
                uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"ems-load/{i}"),
                defaults={"partition": partition, "name": f"Load point {i}", "series_id": series_id},
            )
            plan.series_ids = [series_id]
            plan.point_path = f"/ingest/partitions/{partition.uuid}/points/{point.uuid}/values"
        plans.append(plan)

    written = [sid for plan in plans for sid in plan.series_ids]
    limited_stream = DataStream.objects.get(
        device__organization__slug=LIMITED_SLUG, device__uid=1, stream_id=1
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = ANY(%s)", [written])
        # The quota check's earlier points (the demo's own samples are all of the last day).
        cursor.execute(
            "DELETE FROM timeseries_sample WHERE series_id = %s AND ts < %s",
            [limited_stream.series_id, time.time_ns() // 1_000_000 - 2 * DAY_MS],
        )
        cursor.execute(
            "UPDATE timeseries_series SET last_ts = NULL, last_value = NULL WHERE id = ANY(%s)", [written]
        )
    ImportJob.objects.filter(organization__slug__in=[SLUG, LIMITED_SLUG]).delete()
    DeviceImportDay.objects.filter(device__organization__slug__in=[SLUG, LIMITED_SLUG]).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE timeseries_sample")
    connection.close()
    return seed, limited_seed, plans


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None
    headers: dict
    body: bytes
    started: float  # time.perf_counter() when the request was sent
    seconds: float
    error: str | None = None

    def json(self):
        return orjson.loads(self.body) if self.body else None


class Connection:
    """One keep-alive connection. A connection the server closed while idle is reopened and the
    request sent again once (what HTTP clients do); any other failure is an error."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reopened = 0

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Answer:
        started = time.perf_counter()
        for attempt in (0, 1):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                answer = Answer(
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    data,
                    started,
                    time.perf_counter() - started,
                )
                if response.will_close:
                    self.close()
                return answer
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if fresh or attempt:
                    return self.failure(started, exc)
                self.reopened += 1
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return self.failure(started, exc)
        raise AssertionError("unreachable")

    @staticmethod
    def failure(started: float, exc: Exception) -> Answer:
        return Answer(None, {}, b"", started, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def json_headers(auth: str, media_type: str = "application/json") -> dict:
    return {"Authorization": auth, "Content-Type": media_type}


def tokens_for(port: int, seed: dict) -> dict:
    """Authorization headers of every dialect for a seeded organization."""
    conn = Connection(port)
    blynk = seed["blynk"]
    answer = conn.request(
        "POST",
        f"/oauth2/token?grant_type=client_credentials&client_id={blynk['client_id']}"
        f"&client_secret={blynk['client_secret']}",
    )
    expect(answer.status == 200, f"Blynk token: {answer.status} {answer.body[:200]!r}")
    blynk_token = answer.json()["access_token"]
    bx = seed["buildingx"]
    body = {
        "client_id": bx["client_id"],
        "client_secret": bx["client_secret"],
        "audience": AUDIENCE,
        "grant_type": "client_credentials",
    }
    answer = conn.request("POST", "/oauth/token", orjson.dumps(body), {"Content-Type": "application/json"})
    expect(answer.status == 200, f"Building X token: {answer.status} {answer.body[:200]!r}")
    buildingx_token = answer.json()["access_token"]
    answer = conn.request(
        "POST", "/v1/auth/login", orjson.dumps(seed["ems"]), {"Content-Type": "application/json"}
    )
    expect(answer.status == 200, f"EMS login: {answer.status} {answer.body[:200]!r}")
    conn.close()
    return {
        "iotorq": f"Token {seed['iotorq']['token']}",
        "blynk": f"Bearer {blynk_token}",
        "buildingx": f"Bearer {buildingx_token}",
        "ems": f"Bearer {answer.json()['token']}",
    }


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"load: {what}")


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Stats:
    # dialect -> [(sent at, seconds, points accepted)], every request
    requests: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=lambda: defaultdict(list))  # dialect -> descriptions
    accepted: Counter = field(default_factory=Counter)  # series id -> points answered 2xx
    jobs: list = field(default_factory=list)
    reopened: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def iso_ms(ms: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


class Client(threading.Thread):
    def __init__(self, port: int, plan: Plan, auth: str, stats: Stats, stop: threading.Event, now_ms: int):
        super().__init__(daemon=True)
        self.conn, self.plan, self.auth, self.stats, self.stop = Connection(port), plan, auth, stats, stop
        self.rng = random.Random(plan.index)
        self.now_ms = now_ms
        self.last_job: str | None = None

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            try:
                getattr(self, self.plan.dialect)(n)
            except Exception as exc:  # an answer the client cannot read counts as an error
                with self.stats.lock:
                    self.stats.errors[self.plan.dialect].append(f"{type(exc).__name__}: {exc}")
            n += 1
        self.conn.close()
        with self.stats.lock:
            self.stats.reopened += self.conn.reopened

    def finish(self, answer: Answer, ok: tuple[int, ...], what: str, points: dict | None = None) -> bool:
        dialect = self.plan.dialect
        with self.stats.lock:
            if answer.status in ok:
                for series_id, count in (points or {}).items():
                    self.stats.accepted[series_id] += count
                self.stats.requests[dialect].append(
                    (answer.started, answer.seconds, sum((points or {}).values()))
                )
                return True
            self.stats.requests[dialect].append((answer.started, answer.seconds, 0))
            self.stats.errors[dialect].append(
                f"{what}: {answer.status or answer.error} {answer.body[:200].decode(errors='replace')}"
            )
            return False

    def values(self, count: int) -> list[float]:
        return [round(self.rng.uniform(0, 10_000), 3) for _ in range(count)]

    def iotorq(self, n: int) -> None:
        if n % 4 == 3 and self.last_job:
            answer = self.conn.request(
                "GET", f"/ems/api/import/{self.last_job}/", None, {"Authorization": self.auth}
            )
            self.finish(answer, (200,), "job status")
            return
        # Client i owns [base, base + 10^11) ms; each request a stretch of its own.
        base = 1_500_000_000_000 + self.plan.index * 10**11 + n * IOTORQ_POINTS * 1_000
        body = [
            {
                "id_type": "meter_code",
                "id_value": code,
                "series": {
                    "datetime": [base + k * 1_000 for k in range(IOTORQ_POINTS)],
                    "val": self.values(IOTORQ_POINTS),
                    "time_unit": "ms",
                },
            }
            for code in self.plan.meter_codes
        ]
        answer = self.conn.request("POST", "/ems/api/import/", orjson.dumps(body), json_headers(self.auth))
        points = dict.fromkeys(self.plan.series_ids, IOTORQ_POINTS)
        if self.finish(answer, (202,), "import", points):
            self.last_job = answer.json()["job"]
            with self.stats.lock:
                self.stats.jobs.append(self.last_job)

    def blynk(self, n: int) -> None:
        # The k-th Blynk client owns 10^7 ms (~2.8 hours) from 25 days ago on (the history import
        # takes the last 30 days), its points 1 ms apart.
        base = self.now_ms - 25 * DAY_MS + self.plan.ordinal * 10**7
        if n % 2:
            query = (
                f"deviceId={self.plan.device_uid}&dataStreamId=1&from={base}&to={base + 10**7}"
                f"&page=0&size=100"
            )
            answer = self.conn.request(
                "GET",
                f"/api/v1/organization/device/datastream/history?{query}",
                None,
                {"Authorization": self.auth},
            )
            self.finish(answer, (200,), "history")
            return
        start = base + (n // 2) * BLYNK_POINTS
        values = self.values(BLYNK_POINTS)
        body = {
            "deviceId": self.plan.device_uid,
            "dataStreamId": 1,
            "values": [{"value": v, "ts": start + k} for k, v in enumerate(values)],
        }
        answer = self.conn.request(
            "POST", "/api/v1/organization/device/import/batch", orjson.dumps(body), json_headers(self.auth)
        )
        self.finish(answer, (204,), "import", {self.plan.series_ids[0]: BLYNK_POINTS})

    def buildingx(self, n: int) -> None:
        base = 1_600_000_000_000 + self.plan.index * 10**11
        if n % 2:
            answer = self.conn.request(
                "GET", f"{self.plan.point_path}?page[limit]=100", None, {"Authorization": self.auth}
            )
            self.finish(answer, (200,), "values")
            return
        start = base + (n // 2) * BUILDINGX_POINTS * 10
        data = [
            {"type": "PointValue", "attributes": {"timestamp": iso_ms(start + k * 10), "value": str(v)}}
            for k, v in enumerate(self.values(BUILDINGX_POINTS))
        ]
        answer = self.conn.request(
            "POST",
            f"{self.plan.point_path}?overwrite=false",
            orjson.dumps({"data": data}),
            json_headers(self.auth, "application/vnd.api+json"),
        )
        # 204: every value kept. A 202 (some dropped) cannot happen: the timestamps are new.
        self.finish(answer, (204,), "values", {self.plan.series_ids[0]: BUILDINGX_POINTS})

    def ems(self, n: int) -> None:
        path = ("/v1/realtime", "/v1/signals/3/history", "/v1/history/last", "/v1/devices")[n % 4]
        answer = self.conn.request("GET", path, None, {"Authorization": self.auth})
        self.finish(answer, (200,), path)


# --- the limits -------------------------------------------------------------------------------


def limit_checks(port: int, seed: dict) -> list[tuple[str, bool, str]]:
    """The second organization, with low limits set through the ORM: the Blynk quota refuses an
    import that would pass it (and stores none of it), and once the requests of the minute are
    used up every dialect answers 429 in its own shape with Retry-After."""
    from apps.inventory.models import DataStream
    from apps.tenancy.models import Organization

    auth = tokens_for(port, seed)
    # The quota first, with the request limit still raised (the minute's request count may be
    # used up already, by an earlier run).
    limited = Organization.objects.filter(slug=LIMITED_SLUG)
    limited.update(import_points_per_device_day=LIMITED_POINTS_PER_DEVICE_DAY)
    conn = Connection(port)
    results = []
    stream = DataStream.objects.get(device__organization__slug=LIMITED_SLUG, device__uid=1, stream_id=1)
    now_ms = time.time_ns() // 1_000_000
    start = now_ms - 3 * DAY_MS

    def blynk_import(first: int, count: int) -> Answer:
        body = {
            "deviceId": 1,
            "dataStreamId": 1,
            "values": [{"value": 1.5, "ts": start + k} for k in range(first, first + count)],
        }
        return conn.request(
            "POST",
            "/api/v1/organization/device/import/batch",
            orjson.dumps(body),
            json_headers(auth["blynk"]),
        )

    def stored(first: int, count: int) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM timeseries_sample WHERE series_id = %s AND ts >= %s AND ts < %s",
                [stream.series_id, start + first, start + first + count],
            )
            return cursor.fetchone()[0]

    quota = LIMITED_POINTS_PER_DEVICE_DAY
    under = blynk_import(0, quota - 10)
    over = blynk_import(quota - 10, 11)
    refused_stored = stored(quota - 10, 11)
    rest = blynk_import(quota - 10, 10)  # a refused request counts nothing: exactly the quota fits
    ok = (
        under.status == 204
        and over.status == 429
        and well_shaped_429("blynk", over)
        and refused_stored == 0
        and rest.status == 204
        and stored(0, quota + 1) == quota
    )
    results.append(
        (
            f"Blynk import quota ({quota} points/device/day)",
            ok,
            f"{under.status}, then {over.status} (Retry-After {over.headers.get('retry-after')}), "
            f"then {rest.status}",
        )
    )

    limited.update(requests_per_minute=LIMITED_REQUESTS_PER_MINUTE)
    bx = seed["buildingx"]
    probes = {
        "ems": ("GET", "/v1/devices", None),
        "iotorq": ("GET", f"/ems/api/import/{uuid.uuid4()}/", None),
        "blynk": ("GET", "/api/v2/organization/device/datastreams?deviceId=1", None),
        "buildingx": ("GET", f"/ingest/partitions/{bx['partition_id']}/points/{bx['point_id']}/values", None),
    }
    for dialect, (method, path, body) in probes.items():
        answer = None
        sent = 0
        # The window is one minute, shared by the dialects: 429 comes within the limit's count,
        # or twice that if the minute turns meanwhile.
        for _ in range(2 * LIMITED_REQUESTS_PER_MINUTE + 2):
            answer = conn.request(method, path, body, {"Authorization": auth[dialect]})
            sent += 1
            if answer.status == 429:
                break
        results.append(
            (
                f"request limit ({LIMITED_REQUESTS_PER_MINUTE}/minute), {NAMES[dialect]}",
                answer.status == 429 and well_shaped_429(dialect, answer),
                f"{answer.status} after {sent} requests, Retry-After {answer.headers.get('retry-after')}, "
                f"{answer.body[:120].decode(errors='replace')}",
            )
        )
    conn.close()
    Organization.objects.filter(slug=LIMITED_SLUG).update(
        requests_per_minute=None, import_points_per_device_day=None
    )
    return results


def well_shaped_429(dialect: str, answer: Answer) -> bool:
    if not answer.headers.get("retry-after", "").isdigit():
        return False
    body = answer.json() or {}
    return {
        "iotorq": lambda: isinstance(body.get("detail"), str),
        "blynk": lambda: isinstance(body.get("error"), dict) and "message" in body["error"],
        "buildingx": lambda: body.get("errors", [{}])[0].get("status") == "429",
        "ems": lambda: isinstance(body.get("error"), str),
    }[dialect]()


# --- main -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row_text(name: str, clients: int, rows: list, seconds: float, errors: int) -> str:
    latencies = [row[1] for row in rows]
    points = sum(row[2] for row in rows)
    return (
        f"{name:<15} {clients:>7} {len(rows):>9,} {len(rows) / seconds:>8.1f}"
        f" {percentile(latencies, 0.5) * 1000:>8.1f} {percentile(latencies, 0.99) * 1000:>8.1f}"
        f" {points / seconds:>9,.0f} {errors:>7}"
    )


def job_latencies(job_ids: list[str]) -> list[float]:
    """Seconds from each job's acceptance to its last chunk committed."""
    from apps.imports.models import ImportJob

    rows = ImportJob.objects.filter(pk__in=job_ids, status="done").values_list("created_at", "finished_at")
    return [(finished - created).total_seconds() for created, finished in rows]


def stored_counts(series_ids: list[int]) -> dict[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT series_id, COUNT(*) FROM timeseries_sample WHERE series_id = ANY(%s) GROUP BY series_id",
            [series_ids],
        )
        return dict(cursor.fetchall())


def wait_for_jobs(job_ids: list[str]) -> tuple[int, int, float]:
    """(done, failed, seconds waited) once no accepted job is queued or running."""
    from apps.imports.models import ImportJob

    started = time.monotonic()
    while True:
        counts = Counter(ImportJob.objects.filter(pk__in=job_ids).values_list("status", flat=True))
        if counts["queued"] + counts["running"] == 0 or time.monotonic() - started > JOBS_DEADLINE_SECONDS:
            return counts["done"], counts["failed"], time.monotonic() - started
        time.sleep(0.5)


def log(name: str):
    """Where a server's output goes: LOAD_LOG_DIR/name (with INFO logs: a line per request), or
    nowhere."""
    if not LOG_DIR:
        return subprocess.DEVNULL
    Path(LOG_DIR).mkdir(parents=True, exist_ok=True)
    return (Path(LOG_DIR) / name).open("ab")  # the child process holds it open


def main() -> None:
    load_before = os.getloadavg()[0]
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.db import connection

    seed, limited_seed, plans = prepare()
    port = free_port()
    queue = f"load-{uuid.uuid4().hex[:12]}"
    env = server_env(
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CACHE_URL=REDIS_URL,
        LOG_LEVEL="INFO" if LOG_DIR else "WARNING",
        # Raised for the run, so that the run measures the service and not its limits.
        EMS_REQUESTS_PER_MINUTE=str(10**9),
        EMS_IMPORT_POINTS_PER_DEVICE_DAY=str(2 * 10**9),
    )
    web = gunicorn_start(
        port,
        *("--workers", WEB_WORKERS, "--threads", WEB_THREADS, "--keep-alive", "30"),
        *("--backlog", "256", "--timeout", "120"),
        env=env,
        stdout=log("web.log"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = celery_worker_start(
        queue,
        concurrency=CELERY_CONCURRENCY,
        env=env,
        loglevel=env["LOG_LEVEL"],
        stdout=log("worker.log"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stats = Stats()
    try:
        wait_until("gunicorn", lambda: Connection(port).request("GET", "/ver").status == 200, 60)
        auth = tokens_for(port, seed)
        now_ms = time.time_ns() // 1_000_000
        stop = threading.Event()
        clients = [Client(port, plan, auth[plan.dialect], stats, stop, now_ms) for plan in plans]
        print(
            f"load: {len(clients)} clients on http://{HOST}:{port}, {WARMUP_SECONDS:g} s warm-up"
            f" then {SECONDS:g} s measured ...",
            flush=True,
        )
        started = time.perf_counter()
        for client in clients:
            client.start()
        time.sleep(WARMUP_SECONDS)
        window, cpu = time.perf_counter(), time.process_time()
        time.sleep(SECONDS)
        stop.set()
        window_end, cpu = time.perf_counter(), time.process_time() - cpu
        for client in clients:
            client.join(timeout=180)
        total_seconds = time.perf_counter() - started
        done, failed, drained = wait_for_jobs(stats.jobs)
        job_seconds = job_latencies(stats.jobs)
        limits = limit_checks(port, limited_seed)
    finally:
        for process in (web, worker):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        queue_purge(REDIS_URL, queue)

    series_ids = [sid for plan in plans for sid in plan.series_ids]
    counts = stored_counts(series_ids)
    lost = sum(max(0, stats.accepted[sid] - counts.get(sid, 0)) for sid in series_ids)
    extra = sum(max(0, counts.get(sid, 0) - stats.accepted[sid]) for sid in series_ids)
    accepted = sum(stats.accepted.values())
    errors = sum(len(e) for e in stats.errors.values())

    measured = window_end - window
    print()
    print(
        f"Load on PostgreSQL {connection.settings_dict['NAME']!r} and Redis {REDIS_URL}: {len(plans)} clients"
        f" (keep-alive), {total_seconds:.1f} s in all"
    )
    print(
        f"gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads; celery {CELERY_CONCURRENCY} processes;"
        f" request limit and import quota raised by settings"
    )
    print(
        f"rates and latencies: requests sent in the {measured:.0f} s after a {WARMUP_SECONDS:g} s warm-up;"
        f" errors and points: the whole run"
    )
    print(
        f"the clients (this process) used {cpu / measured:.2f} CPU cores meanwhile, of {os.cpu_count()};"
        f" the machine's load average was {load_before:.1f} before the run"
    )
    print()
    print(
        f"{'dialect':<15} {'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'points/s':>9} {'errors':>7}"
    )
    every = []
    for dialect in DIALECTS:
        rows = [row for row in stats.requests[dialect] if window <= row[0] < window_end]
        every += rows
        clients = sum(p.dialect == dialect for p in plans)
        print(row_text(NAMES[dialect], clients, rows, measured, len(stats.errors[dialect])))
    print(row_text("all", len(plans), every, measured, errors))
    print()
    print(
        f"points accepted {accepted:,}, stored {sum(counts.values()):,}: lost {lost:,},"
        f" unexpected extra {extra:,}"
    )
    print(
        f"ioTORQ jobs: {len(stats.jobs):,} accepted, {done:,} done, {failed:,} failed; queue drained"
        f" {drained:.1f} s after the run; accepted to done p50 {percentile(job_seconds, 0.5) * 1000:.0f} ms,"
        f" p99 {percentile(job_seconds, 0.99) * 1000:.0f} ms"
    )
    if stats.reopened:
        print(f"keep-alive connections the server had closed, reopened: {stats.reopened}")
    for dialect in DIALECTS:
        for line in stats.errors[dialect][:5]:
            print(f"  error {NAMES[dialect]}: {line}")
    print()
    print("limits (second organization, low limits set through the ORM):")
    for name, ok, detail in limits:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
    bad = errors or lost or extra or failed or done != len(stats.jobs) or not all(ok for _, ok, _ in limits)
    print()
    print("FAILED" if bad else "OK: 0 errors, 0 lost points, limits answer 429")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
