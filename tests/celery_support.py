"""Pointing the test process's Celery app at another broker and back, and the queue of a test
that runs a real worker."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from django.db import connection
from kombu import pools as kombu_pools

from ems.celery import app

# A Redis database of the tests' own, apart from the one the project's cache uses.
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/7")


def producers_reset() -> None:
    """Forget pooled broker connections, so the next publish uses the broker configured now.

    kombu keeps producer pools in a registry of its own, keyed by broker: closing only the app's
    pool left a closed pool registered for the in-memory broker, and every later in-process
    (eager) publish failed with "Acquire on closed pool"."""
    kombu_pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers at `url` (tests that need one skip otherwise)."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def broker_queue(prefix: str) -> Iterator[str]:
    """A queue of this test's own on BROKER_URL (`prefix` and a random suffix), so parallel runs
    never meet, and its keys deleted at the end: stop the workers inside the block. Skips unless
    the database is PostgreSQL (a worker process cannot see the test run's SQLite database) and
    Redis answers."""
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot see the test run's SQLite database")
    if not redis_answers(BROKER_URL):
        pytest.skip(f"Redis does not answer at {BROKER_URL}")
    queue = f"{prefix}-{uuid.uuid4().hex}"
    try:
        yield queue
    finally:
        client = redis.Redis.from_url(BROKER_URL)
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
