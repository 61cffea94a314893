import numpy as np
import pytest
from django.db import connection

from apps.imports.services import ImportPoints, VariableRef, import_accept
from apps.inventory.demo import demo_seed
from apps.tenancy.services import roles_sync
from tests.celery_support import BROKER_URL, broker_queue
from tests.factories import UserFactory
from tests.reliability.crash_support import (
    celery_producer,
    database_url,
    project_env,
    start_worker,
    stop_process,
    wait_until,
    worker_ready,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "celery_worker: starts a real Celery worker on Redis; runs on PostgreSQL only (skipped otherwise)",
    )


@pytest.fixture
def user(org):
    from apps.tenancy.services import membership_grant

    account = UserFactory(username="importer")
    membership_grant(user=account, organization=org, role_slugs=[])
    return account


@pytest.fixture
def accept(org, user, django_capture_on_commit_callbacks):
    """Accept an import of `items` = [(series, [(ts_ms, value), ...]), ...] through the service.
    The run is enqueued on commit; `run=False` loses that message, as a dead broker would."""

    def accept_(items, *, run: bool = False):
        points = ImportPoints(
            variables=[VariableRef(series_id=series.pk) for series, _ in items],
            lengths=np.asarray([len(rows) for _, rows in items], dtype=np.int64),
            ts=np.asarray([ts for _, rows in items for ts, _ in rows], dtype=np.int64),
            values=np.asarray([value for _, rows in items for _, value in rows], dtype=np.float64),
        )
        with django_capture_on_commit_callbacks(execute=run) as callbacks:
            job = import_accept(organization=org, user=user, dialect="iotorq", points=points)
        # The run is enqueued once; a run that finishes asks for an alarm evaluation after it.
        assert [c.func.__name__ for c in callbacks if hasattr(c, "func")] == ["_enqueue"]
        return job

    return accept_


@pytest.fixture
def committed_demo(transactional_db):
    """The demo organization, committed (for tests with a worker process). An earlier
    transactional test's flush removed the shipped roles: they are synced first, as their data
    migration does."""
    roles_sync()
    return demo_seed(slug="demo")


@pytest.fixture
def worker_queue(transactional_db, tmp_path):
    """A real Celery worker setup on Redis (PostgreSQL only: a worker process cannot see the test
    run's SQLite database; the test is transactional, so the worker sees committed rows). This
    process publishes to a queue of its own, in a Redis database of its own, so parallel runs
    never meet; `start(chunk=None)` starts a worker on it (IMPORT_CHUNK_POINTS = chunk when
    given). Workers are stopped by their process id and the queue deleted at the end."""
    with broker_queue("ems-test-imports") as queue:
        log = tmp_path / "worker.log"
        processes = []

        def start(chunk: int | None = None):
            env = project_env(
                DATABASE_URL=database_url(connection.settings_dict), CELERY_BROKER_URL=BROKER_URL
            )
            if chunk is not None:
                env["IMPORT_CHUNK_POINTS"] = str(chunk)
            processes.append(start_worker(env, queue, log))
            wait_until("the worker", lambda: worker_ready(log), 60)

        start.queue, start.log = queue, log
        try:
            with celery_producer(BROKER_URL, queue):
                yield start
        finally:
            for process in processes:
                stop_process(process)
