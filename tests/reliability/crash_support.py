"""Real processes for the crash-safety tests: a throwaway Redis, a throwaway PostgreSQL cluster,
Celery workers and gunicorn, each started as a child of the test in a session of its own and
stopped (killed if need be) by its process id, never by name.

Nothing here touches the machine's shared PostgreSQL or Redis services: every server is started
on a free loopback port with its files in a temporary folder that is removed afterwards.
"""

import contextlib
import glob
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Call `check` until it is true; AssertionError naming `what` after `timeout` seconds.
    OSError from `check` counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop `process` (and what it forked, by its process group) with `sig`, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def kill_now(process: subprocess.Popen) -> int:
    """kill -9 the process itself (not its group), as a crash would; its exit code."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    return process.wait(timeout=10)


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for Django's connection settings (the test database, for a subprocess)."""
    s = settings_dict
    credentials = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or LOOPBACK
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(s['NAME'], safe='')}"


class RedisServer:
    """`redis-server` on a free loopback port, no persistence: a restart loses every message,
    which is the worst a broker restart can do."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = directory / f"redis-{self.port}.log"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://{LOOPBACK}:{self.port}/{db}"

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        command = [
            *(shutil.which("redis-server") or "redis-server", "--port", str(self.port)),
            *("--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--dir", str(self.directory)),
        ]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command line)
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(f"redis-server on port {self.port}", self.answers, timeout=15)

    def kill(self) -> None:
        """kill -9: the broker dies with whatever it held."""
        if self.process is not None and self.process.poll() is None:
            kill_now(self.process)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the server keeps its port and accepts connections (the kernel's backlog) but
        answers nothing, as a frozen host or a hung network path would."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.resume()
        stop_process(self.process, sig=signal.SIGKILL)
        self.process = None


class Postgres:
    """A PostgreSQL cluster of its own: `initdb` in a temporary folder, trust authentication,
    a free loopback port. Run as the `postgres` OS user when the tests run as root (initdb and
    postgres refuse root). The postmaster is a direct child, so stopping it needs no pg_ctl."""

    def __init__(self):
        self.bin = self.bindir()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="ems-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.process: subprocess.Popen | None = None
        self.as_user: dict = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self.as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @staticmethod
    def bindir() -> Path | None:
        """The newest server installation's bin folder (Debian layout), or pg_config's."""
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0])
        )
        if candidates:
            return Path(candidates[-1])
        pg_config = shutil.which("pg_config")
        if pg_config:
            path = subprocess.run(  # noqa: S603
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            ).stdout.strip()
            return Path(path) if path else None
        return None

    @classmethod
    def available(cls) -> str | None:
        """None when a throwaway cluster can be made here, else why not."""
        bindir = cls.bindir()
        if bindir is None or not (bindir / "initdb").exists():
            return "no PostgreSQL server binaries (initdb) found"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no postgres OS user to run initdb as"
        return None

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 (a fixed command line)
            args, capture_output=True, text=True, check=False, timeout=60, **self.as_user
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"),
        )

    def answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def start(self) -> None:
        command = [
            *(str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)),
            *("-k", str(self.directory), "-c", f"listen_addresses={LOOPBACK}"),
            # A throwaway cluster: durability against power loss is not what is tested here.
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            *("-c", "max_connections=60"),
        ]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command line)
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, **self.as_user
            )
        wait_until(f"PostgreSQL on port {self.port}", self.answers, timeout=30)

    def stop(self, mode: str = "fast") -> None:
        """Shut the server down: `fast` (SIGINT: sessions are terminated, as `pg_ctl restart`
        does), `immediate` (SIGQUIT: no clean shutdown, crash recovery on the next start)."""
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_process(self.process, sig=signal.SIGKILL)
        self.process = None

    def restart(self, down_seconds: float = 0.0, mode: str = "fast") -> None:
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def create_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                stop_process(self.process, sig=signal.SIGKILL)
        self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)


def project_env(**overrides: str) -> dict[str, str]:
    """The environment of a project process: this one's, without DEBUG (every server here runs
    as in production, with a throwaway key), plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ems.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "SECRET_KEY": "crash-tests-" + "x" * 40,
            "ALLOWED_HOSTS": LOOPBACK,
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


def start_worker(env: dict[str, str], queue: str, log: Path, *, concurrency: int = 1) -> subprocess.Popen:
    """A Celery worker of the project on `queue`; `--pool solo` (one process: kill -9 of its id
    kills the run in progress) unless a concurrency above 1 is asked for."""
    pool = (
        ("--pool", "solo") if concurrency == 1 else ("--pool", "prefork", "--concurrency", str(concurrency))
    )
    command = [
        *(sys.executable, "-m", "celery", "-A", "ems", "worker", *pool, "--queues", queue),
        *("--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"),
    ]
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 (a fixed command line)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def worker_ready(log: Path) -> bool:
    return " ready." in tail(log, 100_000)


def start_gunicorn(
    env: dict[str, str], port: int, log: Path, *, workers: int = 2, threads: int = 4
) -> subprocess.Popen:
    command = [
        *(sys.executable, "-m", "gunicorn", "ems.wsgi", "--bind", f"{LOOPBACK}:{port}"),
        *("--workers", str(workers), "--threads", str(threads), "--timeout", "60"),
        *("--graceful-timeout", "5"),
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_until("gunicorn", lambda: process.poll() is None and http_status(port, "GET", "/ver") == 200, 30)
    return process


def http_status(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        conn.request(method, path)
        return conn.getresponse().status
    finally:
        conn.close()


@contextlib.contextmanager
def celery_producer(broker_url: str, queue: str) -> Iterator[None]:
    """Make this process's Celery app publish to `broker_url`, queue `queue`, for the block (the
    web side of a test: views and the sweeper enqueue from the test process)."""
    from ems.celery import app
    from tests.celery_support import producers_reset

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=broker_url, task_always_eager=False, task_default_queue=queue)
    producers_reset()
    try:
        yield
    finally:
        app.conf.update(saved)
        producers_reset()
