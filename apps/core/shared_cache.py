"""The shared cache (Redis in production) as a dependency that can be down.

Nothing the cache holds is needed to answer a request: request-limit counters, failed-login
counters and cached history totals all have a fallback (let the request through, count in the
process, count again). So a cache call that fails must not fail the request: `shared_cache()`
turns the cache's connection errors and timeouts into `CacheUnavailable`, which each caller
answers with its fallback.

A frozen Redis costs a full socket timeout per call (REDIS_TIMEOUT_SECONDS). To keep that from
being paid by every request, a failure opens a circuit for CACHE_RETRY_SECONDS: until then calls
skip the cache at once (counted in `ems_cache_skipped_total`), and the first call after that
tries again. The circuit is per process, like the connection pool it protects.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from prometheus_client import Counter
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a cache backend raises when its server does not answer: redis-py's errors (refused,
# timed out, reset, out of memory...) and the socket errors a backend may let through.
CACHE_ERRORS_CAUGHT = (RedisError, OSError)

CACHE_ERRORS = Counter(
    "ems_cache_errors_total",
    "Calls to the shared cache (Redis) that failed: refused or timed out. By use; for request_limit "
    "each is a request let through without the limit.",
    ["use"],
)
CACHE_SKIPPED = Counter(
    "ems_cache_skipped_total",
    "Calls to the shared cache skipped because it failed within CACHE_RETRY_SECONDS. By use; for "
    "request_limit each is a request let through without the limit.",
    ["use"],
)


class CacheUnavailable(Exception):
    """The shared cache did not answer, or failed within the last CACHE_RETRY_SECONDS."""


class _Circuit:
    def __init__(self):
        self._lock = threading.Lock()
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> bool:
        """Open the circuit for CACHE_RETRY_SECONDS; True when it was closed (the first failure
        of an outage, the one worth a log line)."""
        with self._lock:
            was_closed = not self.is_open()
            self._open_until = time.monotonic() + settings.CACHE_RETRY_SECONDS
            return was_closed

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


_circuit = _Circuit()


@contextmanager
def shared_cache(*, use: str, probe: bool = False) -> Iterator:
    """The default cache for the block; `CacheUnavailable` (at once, while the circuit is open)
    when it does not answer. `use` labels the metrics (request_limit, login_failures, ...);
    `probe` tries even while the circuit is open, and closes it when the cache answers (the health
    check reports what is, not what was)."""
    if _circuit.is_open() and not probe:
        CACHE_SKIPPED.labels(use).inc()
        raise CacheUnavailable(f"the cache failed within the last {settings.CACHE_RETRY_SECONDS} s")
    try:
        yield cache
        if probe:
            _circuit.reset()
    except CACHE_ERRORS_CAUGHT as exc:
        CACHE_ERRORS.labels(use).inc()
        if _circuit.trip():
            logger.warning(
                "cache unavailable (%s: %s); skipping it for %s s (%s)",
                type(exc).__name__,
                exc,
                settings.CACHE_RETRY_SECONDS,
                use,
            )
        raise CacheUnavailable(str(exc)) from exc


def counter_incr(cache, key: str, *, timeout: float) -> int:
    """Add one to the counter `key` of `cache` (created at 1, expiring after `timeout` seconds)
    and return its value: one round trip when the key is new, two otherwise."""
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def circuit_reset() -> None:
    """Forget a recent failure (tests; the next call tries the cache)."""
    _circuit.reset()
