"""Pointing the test process's Celery app at another broker and back."""

import redis
from kombu import pools as kombu_pools

from ems.celery import app


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
