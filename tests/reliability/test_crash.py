"""Crash safety with real processes (issue 9, part 3).

- A Celery worker killed with SIGKILL in the middle of a large import: once a new worker runs the
  job again (the sweeper re-enqueues it), exactly the accepted points are stored.
- The broker down when an import is accepted: 202 all the same, and the job completes once the
  broker is back.
- The database restarted under load: every answer is a success or a clean 503 in the dialect's
  shape with Retry-After, and every point of a 2xx answer is stored.

PostgreSQL only (a worker process cannot see the SQLite database of a test run). Every server is
the test's own: a redis-server on a free port (never the machine's shared Redis) and, for the
restart, a PostgreSQL cluster made with initdb in a temporary folder (never the shared service).
The first two tests are transactional, so the worker sees committed rows; an earlier
transactional test's flush removed the shipped roles, which are synced first.
"""

import datetime as dt
import http.client
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import orjson
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from apps.imports.models import ImportJob
from apps.imports.services import import_sweep
from apps.tenancy.models import Organization
from apps.tenancy.services import roles_sync
from apps.timeseries.models import Series
from tests.worlds import world as world_build

from . import crash_support as support

pytestmark = [pytest.mark.reliability, pytest.mark.celery_worker]

ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
requires_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="worker processes cannot see the test run's SQLite database"
)
requires_redis = pytest.mark.skipif(not support.RedisServer.available(), reason="no redis-server binary")


# ---------------------------------------------------------------------------------------------
# Fixtures: servers and processes of the test's own, always stopped in teardown.


@pytest.fixture
def redis_server(tmp_path):
    server = support.RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def processes():
    """Register Popen objects; every one is stopped (killed if need be) in teardown."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            support.stop_process(process)


@pytest.fixture
def committed_demo(transactional_db):
    """The small world (tests/worlds.py), committed so the worker sees it."""
    roles_sync()
    return world_build("demo")


def _series(codes: list[str]) -> list[int]:
    organization = Organization.objects.get(slug="demo")
    return [Series.objects.create(organization=organization, meter_code=c, name=c).pk for c in codes]


def _stored(series_ids: list[int]) -> dict[tuple[int, int], float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT series_id, ts, value FROM timeseries_sample WHERE series_id = ANY(%s)", [series_ids]
        )
        return {(series_id, ts): value for series_id, ts, value in cursor.fetchall()}


def _apply(points: list[tuple[int, int, float]]) -> dict[tuple[int, int], float]:
    """What writing `points` in order with the overwrite policy stores: the last one wins."""
    result: dict[tuple[int, int], float] = {}
    for series_id, ts, value in points:
        result[(series_id, ts)] = value
    return result


def _wait_for_job(job: ImportJob, statuses: tuple[str, ...], timeout: float, log) -> None:
    def reached() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    try:
        support.wait_until(f"job {job.pk} to be {statuses}", reached, timeout, interval=0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; job is {job.status}, worker log:\n{support.tail(log)}") from None


# ---------------------------------------------------------------------------------------------
# a. kill -9 a worker in the middle of a large import.

KILL_CHUNK_POINTS = 250  # the killed worker commits progress every 250 points: ~220 chunks


@requires_postgresql
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_loses_nothing_and_writes_exactly_once(
    committed_demo, redis_server, processes, tmp_path, settings
):
    series_a, series_b = _series(["crash-a", "crash-b"])
    rng = random.Random(9)
    t0 = 1_500_000_000_000
    stamps = [t0 + i * 1_000 for i in range(25_000)]
    items = [
        ("crash-a", stamps),
        ("crash-b", stamps),
        # The last 5,000 timestamps of crash-a again, new values: the later occurrence must win.
        ("crash-a", stamps[20_000:]),
    ]
    body, accepted = [], []
    for code, ts in items:
        values = [round(rng.uniform(-1_000, 1_000), 3) for _ in ts]
        body.append(
            {
                "id_type": "meter_code",
                "id_value": code,
                "series": {"datetime": ts, "val": values, "time_unit": "ms"},
            }
        )
        series_id = series_a if code == "crash-a" else series_b
        accepted += [(series_id, t, v) for t, v in zip(ts, values, strict=True)]
    payload = orjson.dumps(body)
    assert len(payload) < 2_097_152

    queue = f"crash-{uuid.uuid4().hex[:8]}"
    env = support.project_env(
        DATABASE_URL=support.database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis_server.url(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        IMPORT_CHUNK_POINTS=str(KILL_CHUNK_POINTS),
    )
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    with support.celery_producer(redis_server.url(), queue):
        first = support.start_worker(env, queue, first_log)
        processes.append(first)
        support.wait_until("the first worker", lambda: support.worker_ready(first_log), 30)

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {committed_demo['iotorq']['token']}")
        response = client.post("/ems/api/import/", data=payload, content_type="application/json")
        assert response.status_code == 202, response.content
        job = ImportJob.objects.get(pk=response.json()["job"])
        assert job.points == len(accepted) == 55_000

        # Kill the worker once it has committed some chunks, well before the end.
        def progressed() -> bool:
            job.refresh_from_db(fields=["status", "written"])
            assert job.status != "done", "the import finished before the worker could be killed"
            return job.written >= len(accepted) // 5

        support.wait_until("the import to progress", progressed, 30, interval=0.005)
        assert support.kill_now(first) == -9
        job.refresh_from_db()
        assert job.status == "running"
        assert 0 < job.written < job.points
        # Every committed chunk is whole, and nothing past the committed progress is stored.
        assert _stored([series_a, series_b]) == _apply(accepted[: job.written])
        written_at_kill = job.written

        second = support.start_worker(env, queue, second_log)
        processes.append(second)
        # The killed run's message stays unacknowledged in Redis (until the visibility timeout):
        # the sweeper is what sends the job again. The killed session's row lock goes away when
        # PostgreSQL notices the closed connection; until then the sweeper skips the job.
        settings.IMPORT_STUCK_AFTER_SECONDS = 0
        support.wait_until("the sweeper to re-enqueue the job", lambda: import_sweep() == [job.pk], 15, 0.2)
        _wait_for_job(job, ("done", "failed"), 40, second_log)

    assert job.status == "done", job.error
    assert (job.written, job.attempts) == (55_000, 2)
    stored = _stored([series_a, series_b])
    expected = _apply(accepted)
    assert len(stored) == len(expected) == 50_000
    assert stored == expected  # every value, the later duplicates included
    print(f"killed at {written_at_kill:,} of {job.points:,} points written")


# ---------------------------------------------------------------------------------------------
# b. the broker down when an import is accepted.


@requires_postgresql
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_b_import_accepted_while_the_broker_is_down_completes_once_it_is_back(
    committed_demo, redis_server, processes, tmp_path, settings
):
    (series_id,) = _series(["broker-down"])
    ts = [1_500_000_000_000 + i * 60_000 for i in range(300)]
    values = [float(i) / 7 for i in range(300)]
    body = [
        {"id_type": "pk", "id_value": series_id, "series": {"datetime": ts, "val": values, "time_unit": "ms"}}
    ]
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = support.project_env(
        DATABASE_URL=support.database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis_server.url(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    with support.celery_producer(redis_server.url(), queue):
        worker = support.start_worker(env, queue, log)
        processes.append(worker)
        support.wait_until("the worker", lambda: support.worker_ready(log), 30)

        redis_server.kill()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {committed_demo['iotorq']['token']}")
        started = time.monotonic()
        response = client.post("/ems/api/import/", body, format="json")
        accept_seconds = time.monotonic() - started

        assert response.status_code == 202, response.content
        assert accept_seconds < 10  # the client is not kept waiting for the broker either
        answer = response.json()
        assert (answer["status"], answer["points"]) == ("queued", 300)
        assert response.headers["Location"] == f"/ems/api/import/{answer['job']}/"
        job = ImportJob.objects.get(pk=answer["job"])
        assert job.payload_bytes > 0  # the points are durably stored with the job
        # A sweep while the broker is still down fails to send the job, quietly: it stays queued.
        settings.IMPORT_STUCK_AFTER_SECONDS = 0
        assert import_sweep() == [job.pk]
        job.refresh_from_db()
        assert (job.status, job.attempts, job.written) == ("queued", 0, 0)
        assert _stored([series_id]) == {}

        redis_server.start()  # the same port, empty: the message was never there
        assert worker.poll() is None, "the worker died with the broker"
        # What celery beat does every IMPORT_SWEEP_INTERVAL_SECONDS: send what is stuck.
        settings.IMPORT_STUCK_AFTER_SECONDS = 1
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            import_sweep()
            job.refresh_from_db()
            if job.finished:
                break
            time.sleep(1)

    assert job.status == "done", f"{job.status} {job.error}\n{support.tail(log)}"
    assert job.written == 300
    assert _stored([series_id]) == {(series_id, t): v for t, v in zip(ts, values, strict=True)}
    print(f"202 while the broker was down in {accept_seconds:.2f} s")


# ---------------------------------------------------------------------------------------------
# c. the database restarted under load.

DB_NAME = "ems_crash"
RUN_SECONDS = 12
RESTART_AT_SECONDS = 4
DOWN_SECONDS = 1.5
CLIENTS_PER_DIALECT = 2
SUCCESS = {200, 202, 204}


@dataclass
class Outcome:
    dialect: str
    method: str
    path: str
    at: float
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    points: list = field(default_factory=list)  # (series id, ts ms, value) a write carried
    job: str | None = None


class Http:
    """One request per connection, loopback only; an exception becomes the outcome's error."""

    def __init__(self, port: int):
        self.port = port

    def send(self, outcome: Outcome, body: bytes | None = None, headers: dict | None = None) -> Outcome:
        conn = http.client.HTTPConnection(support.LOOPBACK, self.port, timeout=30)
        try:
            conn.request(outcome.method, outcome.path, body=body, headers=headers or {})
            response = conn.getresponse()
            outcome.body = response.read()
            outcome.status = response.status
            outcome.headers = {key.lower(): value for key, value in response.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        return outcome

    def json(self, method: str, path: str, body=None) -> dict:
        headers = {} if body is None else {"Content-Type": "application/json"}
        outcome = self.send(
            Outcome("setup", method, path, time.monotonic()),
            None if body is None else orjson.dumps(body),
            headers,
        )
        assert outcome.status == 200, (path, outcome.status, outcome.body, outcome.error)
        return orjson.loads(outcome.body)


def _iso_ms(ms: int) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _well_shaped_503(outcome: Outcome) -> bool:
    """A 503 in the dialect's error shape, with Retry-After."""
    if outcome.status != 503 or not outcome.headers.get("retry-after", "").isdigit():
        return False
    try:
        body = orjson.loads(outcome.body)
    except orjson.JSONDecodeError:
        return False
    match outcome.dialect:
        case "iotorq":
            return isinstance(body.get("detail"), str)
        case "blynk":
            return isinstance(body.get("error"), dict) and isinstance(body["error"].get("message"), str)
        case "buildingx":
            errors = body.get("errors") or [{}]
            media_type = outcome.headers.get("content-type", "")
            return errors[0].get("status") == "503" and media_type.startswith("application/vnd.api+json")
        case "ems":
            return isinstance(body.get("error"), str)
    return False


class Load:
    """Client threads of every dialect; each write carries points of its own timestamps."""

    def __init__(self, port: int, seed: dict, ids: dict, tokens: dict):
        self.http, self.seed, self.ids, self.tokens = Http(port), seed, ids, tokens
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.now_ms = time.time_ns() // 1_000_000
        self.last_job: dict[int, str] = {}

    def record(self, outcome: Outcome) -> Outcome:
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def run(self, dialect: str, client: int) -> None:
        rng = random.Random(f"{dialect}-{client}")
        sequence = 0
        while not self.stop.is_set():
            try:
                getattr(self, dialect)(client, sequence, rng)
            except Exception as exc:  # an answer the client could not read: fails the test
                self.record(Outcome(dialect, "?", "?", time.monotonic(), error=repr(exc)))
            sequence += 1
            time.sleep(0.02)

    def iotorq(self, client: int, n: int, rng: random.Random) -> None:
        auth = {"Authorization": f"Token {self.seed['iotorq']['token']}"}
        if n % 2 and client in self.last_job:
            path = f"/ems/api/import/{self.last_job[client]}/"
            self.record(self.http.send(Outcome("iotorq", "GET", path, time.monotonic()), None, auth))
            return
        base = 1_600_000_000_000 + client * 10**10 + n * 100_000
        body, points = [], []
        for code, series_id in zip(self.seed["iotorq"]["meter_codes"], self.ids["iotorq"], strict=True):
            ts = [base + i * 1_001 for i in range(50)]
            values = [round(rng.uniform(0, 100), 3) for _ in ts]
            # Seconds with a millisecond fraction, which the dialect converts exactly.
            seconds = [t / 1000 for t in ts]
            body.append(
                {"id_type": "meter_code", "id_value": code, "series": {"datetime": seconds, "val": values}}
            )
            points += [(series_id, t, v) for t, v in zip(ts, values, strict=True)]
        outcome = Outcome("iotorq", "POST", "/ems/api/import/", time.monotonic(), points=points)
        self.http.send(outcome, orjson.dumps(body), {**auth, "Content-Type": "application/json"})
        if outcome.status == 202:
            outcome.job = self.last_job[client] = orjson.loads(outcome.body)["job"]
        self.record(outcome)

    def blynk(self, client: int, n: int, rng: random.Random) -> None:
        auth = {"Authorization": f"Bearer {self.tokens['blynk']}"}
        if n % 2:
            path = "/api/v2/organization/device/datastreams?deviceId=1"
            self.record(self.http.send(Outcome("blynk", "GET", path, time.monotonic()), None, auth))
            return
        base = self.now_ms - 20 * 86_400_000 + client * 10**8 + n * 1_000
        ts = [base + i for i in range(100)]
        values = [round(rng.uniform(0, 100), 3) for _ in ts]
        body = {
            "deviceId": 1,
            "dataStreamId": 1,
            "values": [{"value": v, "ts": t} for t, v in zip(ts, values, strict=True)],
        }
        series_id = self.ids["blynk"]
        outcome = Outcome(
            "blynk",
            "POST",
            "/api/v1/organization/device/import/batch",
            time.monotonic(),
            points=[(series_id, t, v) for t, v in zip(ts, values, strict=True)],
        )
        self.record(self.http.send(outcome, orjson.dumps(body), {**auth, "Content-Type": "application/json"}))

    def buildingx(self, client: int, n: int, rng: random.Random) -> None:
        auth = {"Authorization": f"Bearer {self.tokens['buildingx']}"}
        bx = self.seed["buildingx"]
        path = f"/ingest/partitions/{bx['partition_id']}/points/{bx['point_id']}/values"
        if n % 2:
            read = Outcome("buildingx", "GET", f"{path}?page[limit]=10", time.monotonic())
            self.record(self.http.send(read, None, auth))
            return
        base = 1_650_000_000_000 + client * 10**10 + n * 1_000
        ts = [base + i for i in range(100)]
        values = [round(rng.uniform(0, 100), 3) for _ in ts]
        data = [
            {"type": "PointValue", "attributes": {"timestamp": _iso_ms(t), "value": str(v)}}
            for t, v in zip(ts, values, strict=True)
        ]
        series_id = self.ids["buildingx"]
        outcome = Outcome(
            "buildingx",
            "POST",
            f"{path}?overwrite=false",
            time.monotonic(),
            points=[(series_id, t, v) for t, v in zip(ts, values, strict=True)],
        )
        headers = {**auth, "Content-Type": "application/vnd.api+json"}
        self.record(self.http.send(outcome, orjson.dumps({"data": data}), headers))

    def ems(self, client: int, n: int, rng: random.Random) -> None:
        auth = {"Authorization": f"Bearer {self.tokens['ems']}"}
        paths = (
            "/v1/realtime",
            f"/v1/signals/3/history?start={self.now_ms - 86_400_000}&end={self.now_ms}",
            "/v1/devices",
        )
        path = paths[n % len(paths)]
        self.record(self.http.send(Outcome("ems", "GET", path, time.monotonic()), None, auth))


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (a fixed command line)
        [sys.executable, "manage.py", *args],
        cwd=support.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def throwaway_postgres():
    reason = support.Postgres.available()
    if reason:
        pytest.skip(reason)
    server = support.Postgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()


@pytest.mark.skipif(
    not ON_POSTGRESQL, reason="run with the PostgreSQL suite only (it starts a PostgreSQL cluster of its own)"
)
@requires_redis
def test_c_database_restarted_under_load_gives_clean_503s_and_loses_no_accepted_point(
    throwaway_postgres, redis_server, processes, tmp_path
):
    started = time.monotonic()
    pg = throwaway_postgres
    pg.create_database(DB_NAME)
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    env = support.project_env(
        DATABASE_URL=pg.url(DB_NAME),
        CELERY_BROKER_URL=redis_server.url(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CONN_MAX_AGE="60",  # persistent connections: the ones a restart breaks under the app's feet
        EMS_REQUESTS_PER_MINUTE="1000000",
        EMS_IMPORT_POINTS_PER_DEVICE_DAY="100000000",
        CACHE_URL="locmemcache://crash",
        LOG_LEVEL="WARNING",
    )
    _manage(env, "migrate", "--noinput", "-v0")
    seed = orjson.loads(_manage(env, "seed_demo", "--json"))
    with psycopg.connect(pg.url(DB_NAME)) as conn:
        blynk_series = conn.execute(
            "SELECT ds.series_id FROM inventory_datastream ds JOIN inventory_device d ON d.id = ds.device_id"
            " JOIN tenancy_organization o ON o.id = d.organization_id"
            " WHERE o.slug = 'demo' AND d.uid = 1 AND ds.stream_id = 1"
        ).fetchone()[0]
        point_series = conn.execute(
            "SELECT series_id FROM inventory_point WHERE uuid = %s", [seed["buildingx"]["point_id"]]
        ).fetchone()[0]
    ids = {"iotorq": seed["iotorq"]["variable_ids"], "blynk": blynk_series, "buildingx": point_series}

    port = support.free_port()
    worker_log = tmp_path / "worker.log"
    processes.append(support.start_gunicorn(env, port, tmp_path / "gunicorn.log"))
    processes.append(support.start_worker(env, queue, worker_log))

    api = Http(port)
    blynk = seed["blynk"]
    blynk_auth = f"/oauth2/token?grant_type=client_credentials&client_id={blynk['client_id']}"
    blynk_auth += f"&client_secret={blynk['client_secret']}"
    tokens = {
        "blynk": api.json("POST", blynk_auth)["access_token"],
        "buildingx": api.json(
            "POST",
            "/oauth/token",
            {
                "client_id": seed["buildingx"]["client_id"],
                "client_secret": seed["buildingx"]["client_secret"],
                "audience": "https://horizon.siemens.com",
                "grant_type": "client_credentials",
            },
        )["access_token"],
        "ems": api.json("POST", "/v1/auth/login", seed["ems"])["token"],
    }
    setup_seconds = time.monotonic() - started

    load = Load(port, seed, ids, tokens)
    threads = [
        threading.Thread(target=load.run, args=(dialect, client), daemon=True)
        for dialect in ("iotorq", "blynk", "buildingx", "ems")
        for client in range(CLIENTS_PER_DIALECT)
    ]
    load_started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(RESTART_AT_SECONDS)
        restart_began = time.monotonic()
        pg.restart(down_seconds=DOWN_SECONDS, mode="fast")
        restarted = time.monotonic()
        time.sleep(max(0.0, load_started + RUN_SECONDS - time.monotonic()))
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=40)
    outcomes = load.outcomes

    # Every answer is a success or a clean 503; nothing else, no broken connection.
    broken = [o for o in outcomes if o.error is not None]
    assert not broken, [(o.dialect, o.path, o.error) for o in broken[:10]]
    unclean = [o for o in outcomes if o.status not in SUCCESS and not _well_shaped_503(o)]
    assert not unclean, [(o.dialect, o.method, o.path, o.status, o.body[:300]) for o in unclean[:10]]
    unavailable = [o for o in outcomes if o.status == 503]
    assert unavailable, "the restart produced no 503 at all: the test did not hit it"
    for dialect in ("iotorq", "blynk", "buildingx", "ems"):
        assert any(o.dialect == dialect and o.status in SUCCESS and o.at > restarted for o in outcomes), (
            f"{dialect}: no success after the database came back"
        )

    # Every accepted import is done: the worker's retries carry it over the restart.
    jobs = [o.job for o in outcomes if o.job]
    with psycopg.connect(pg.url(DB_NAME), autocommit=True) as conn:

        def jobs_done() -> bool:
            rows = conn.execute(
                "SELECT status, count(*) FROM imports_importjob WHERE id = ANY(%s::uuid[]) GROUP BY status",
                [jobs],
            ).fetchall()
            return dict(rows).get("done", 0) == len(jobs)

        support.wait_until("every accepted import to be done", jobs_done, 30, interval=0.2)
        all_series = [*ids["iotorq"], ids["blynk"], ids["buildingx"]]
        stored = {
            (series_id, ts): value
            for series_id, ts, value in conn.execute(
                "SELECT series_id, ts, value FROM timeseries_sample WHERE series_id = ANY(%s)", [all_series]
            ).fetchall()
        }

    # Every point of a 2xx write is stored with its value; a write that failed is all or nothing.
    writes = [o for o in outcomes if o.points]
    for outcome in writes:
        present = [stored.get((s, t)) == v for s, t, v in outcome.points]
        if outcome.status in SUCCESS:
            assert all(present), (outcome.dialect, outcome.status, present.count(False), "points missing")
        else:
            assert all(present) or not any(present), (outcome.dialect, "half-written", present.count(True))

    accepted_points = sum(len(o.points) for o in writes if o.status in SUCCESS)
    by_dialect = {
        d: (
            sum(o.dialect == d and o.status in SUCCESS for o in outcomes),
            sum(o.dialect == d and o.status == 503 for o in outcomes),
        )
        for d in ("iotorq", "blynk", "buildingx", "ems")
    }
    print(
        f"setup {setup_seconds:.1f} s; {len(outcomes)} requests, {len(unavailable)} clean 503s"
        f" (success, 503 per dialect: {by_dialect}); {accepted_points} accepted points all stored;"
        f" database down {restarted - restart_began:.1f} s; {len(jobs)} import jobs done"
    )
