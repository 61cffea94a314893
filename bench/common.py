"""Helpers shared by the benchmarks in bench/: the benchmark database, timing, the machine's load,
processes' memory and CPU, and the figures of issue #8 (the performance targets).

Each benchmark prints its own figures as it has always done, then the rows of the targets table it
measures: the target, the reference measured in the same run, the figure, the ratio or latency, and
whether the target is met. Those rows are also appended to a results file (BENCH_RESULTS, default
/tmp/ems-bench-results.jsonl), from which `bench/summary.py` prints the whole table after a
`make bench`.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import environ
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(tempfile.gettempdir()) / "ems-bench-results.jsonl")
COPY_TYPES = ["int8", "int8", "float8", "int2"]
MACHINE_KEY = "machine"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"{Path(sys.argv[0]).name} needs PostgreSQL; DATABASE_URL is {url!r}")
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def median_seconds(run: Callable[[], None], *, times: int, before: Callable[[], None] | None = None) -> float:
    """Median wall time of `run`; `before` prepares each run and is not timed."""
    timings = []
    for _ in range(times):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    """The environment of the app's processes in a benchmark (web and worker): this process's,
    with a throwaway key, DEBUG off, persistent database connections, and `extra`."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        **extra,
    }


def gunicorn_start(port: int, *options: str, env: dict[str, str], **popen) -> subprocess.Popen:
    """gunicorn serving the project on 127.0.0.1:`port` with gunicorn.conf.py and `options`;
    its output discarded unless `popen` says otherwise."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ems.wsgi", "--bind", f"127.0.0.1:{port}", *options],
        cwd=ROOT,
        env=env,
        **({"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} | popen),
    )


def celery_worker_start(
    queue: str, *, concurrency: str, env: dict[str, str], loglevel: str = "WARNING", **popen
) -> subprocess.Popen:
    """A Celery worker (prefork) of the project consuming `queue` only."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "ems", "worker", "--queues", queue),
            *("--concurrency", concurrency, "--loglevel", loglevel),
            *("--without-heartbeat", "--without-gossip", "--without-mingle"),
        ],
        cwd=ROOT,
        env=env,
        **({"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} | popen),
    )


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    """Poll `check` (connection errors count as not yet) until it holds; exit after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def healthz_ok(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    finally:
        connection.close()


def queue_purge(broker_url: str, queue: str) -> None:
    """Delete a benchmark's own Celery queue (and its bindings) from the Redis broker."""
    import redis

    broker = redis.Redis.from_url(broker_url)
    for key in broker.scan_iter(match=f"*{queue}*"):
        broker.delete(key)


@contextlib.contextmanager
def gunicorn_serving(port: int, *, workers: int = 1):
    """gunicorn serving the project on 127.0.0.1:`port` (`server_env`); yields once /healthz
    answers 200, stops it afterwards."""
    server = gunicorn_start(port, "--workers", str(workers), env=server_env())
    try:
        wait_until("gunicorn", lambda: healthz_ok(port), timeout=20)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def load_average() -> str:
    """The machine's load average (1, 5, 15 minutes) and its core count, for the record: the
    benchmarks share the machine, and a busy machine is a slower one."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def copy_rows(cursor, target: str, rows) -> None:
    """Direct binary COPY of (series_id, ts, value, quality) tuples into `target`, the reference the
    store is measured against: psycopg's own (C) binary encoder, row by row, no staging. `cursor`
    is a Django cursor."""
    statement = f"COPY {target} (series_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
    with cursor.cursor.copy(statement) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)


# --- processes -----------------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """The direct children of process `pid` (Linux /proc)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(children))


def status_kib(pid: int, field: str) -> int | None:
    """A memory figure of /proc/<pid>/status in KiB (VmHWM: peak resident set; VmRSS: now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (their own, not their children's)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _CLOCK_TICKS


def database_backend_pids(database: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to `database` (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        return [row[0] for row in cursor.fetchall()]


# --- the targets table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One row of issue #8's table. `value` is compared with `target` by `better` ("higher" or
    "lower"); `shown` is how the figure reads (a ratio, a latency, a rate), `reference` what it was
    measured against in the same run, with that reference's own figure."""

    key: str
    what: str
    reference: str
    measured: str
    shown: str
    value: float | None
    target: float
    better: str
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    @property
    def target_text(self) -> str:
        sign = ">=" if self.better == "higher" else "<="
        number = f"{self.target:g}"
        return f"{sign} {number}{self.unit}" if self.unit == "x" else f"{sign} {number} {self.unit}"


def ratio_figure(
    key: str, what: str, *, reference: str, seconds: float, reference_seconds: float, target: float, rate: str
) -> Figure:
    """A figure read as (reference time) / (measured time): above 1 the measured path is faster."""
    ratio = reference_seconds / seconds
    return Figure(key, what, reference, rate, f"{ratio:.2f}x", ratio, target, "higher")


def print_figures(title: str, figures: list[Figure], *, load: str) -> None:
    """Print the table rows one benchmark measured, and append them to the results file."""
    print()
    print(f"Issue #8 targets: {title} ({load})")
    print(f"  {'what':<52} {'measured':<30} {'result':>10} {'target':>11}  met")
    for figure in figures:
        met = {True: "yes", False: "NO", None: "n/a"}[figure.met]
        print(f"  {figure.what:<52} {figure.measured:<30} {figure.shown:>10} {figure.target_text:>11}  {met}")
        print(f"  {'':<52} vs {figure.reference}")
    record(figures, load=load)


def record(figures: list[Figure], *, load: str) -> None:
    entries = [{**asdict(figure), "met": figure.met, "target_text": figure.target_text} for figure in figures]
    _append(entries, load)


def record_machine(figures: dict[str, float], *, load: str) -> None:
    """The machine's speed (bench/machine.py), kept beside the figures it explains."""
    _append([{"key": MACHINE_KEY, **figures}], load)


def _append(entries: list[dict], load: str) -> None:
    try:
        with RESULTS.open("a") as results:
            for entry in entries:
                entry |= {"load": load, "at": time.time(), "script": Path(sys.argv[0]).name}
                results.write(json.dumps(entry) + "\n")
    except OSError as exc:  # the figures are printed already; the summary is a convenience
        print(f"(results not recorded in {RESULTS}: {exc})")


def admin_session(port: int, username: str, password: str) -> str:
    """Logs in through the admin's login form on 127.0.0.1:`port`, as a browser posts it, and returns
    the session cookie (bench/console.py and bench/statistics_read.py time admin pages over HTTP)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/admin/login/")
    response = connection.getresponse()
    page = response.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"}
    )
    connection.request(
        "POST",
        "/admin/login/",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    session = re.search(r"sessionid=([^;]+)", ", ".join(response.headers.get_all("Set-Cookie") or []))
    if response.status != 302 or session is None:
        sys.exit(f"admin login failed: HTTP {response.status}")
    return session.group(1)
