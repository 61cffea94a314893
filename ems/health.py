"""The states of the services the web app depends on, for /healthz.

Only the database is essential: without it no request can be answered. The cache (request-limit
and failed-login counters, cached totals) and the broker (sending accepted imports to the
workers) each have a fallback, so their being down degrades the service without stopping it.
Each probe is bounded by the connection timeouts (REDIS_*_TIMEOUT_SECONDS).
"""

import logging

from django.core.cache import caches
from django.db import DatabaseError, connection

from apps.core.shared_cache import CacheUnavailable, shared_cache

logger = logging.getLogger(__name__)

UP, DOWN = "up", "down"
# A cache in this process's memory and "no broker" (tasks run in-process) cannot be down.
LOCAL_CACHES = ("LocMemCache", "DummyCache")


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return DOWN
    return UP


def cache_state() -> str:
    """`local` for a per-process cache (no CACHE_URL), else whether the shared one answers."""
    if type(caches["default"]).__name__ in LOCAL_CACHES:
        return "local"
    try:
        with shared_cache(use="healthz", probe=True) as shared:
            shared.get("healthz")
    except CacheUnavailable:
        return DOWN
    return UP


def broker_state() -> str:
    """`none` without a broker (tasks run in-process after commit), else whether it answers."""
    from ems.celery import app

    if app.conf.task_always_eager:
        return "none"
    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=0)
    except Exception:  # whatever the transport raises: the broker is not usable
        logger.warning("broker unavailable", exc_info=True)
        return DOWN
    return UP
