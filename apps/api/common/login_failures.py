"""Slowing password guessers: failed logins counted in the cache, shared by every process when
the cache is Redis. A fixed window starts with the first failure. (The per-organization request
limit, which counts every request, is request_limit.py.)

While the shared cache is down, failures are counted in the process's own memory (the "local"
cache) instead, so a password guesser is still slowed (per process) rather than let through or
answered 500. Both counts are read, so failures counted during an outage keep counting for the
rest of their window once the shared cache is back.
"""

import hashlib

from django.core.cache import caches

from apps.core.shared_cache import CacheUnavailable, counter_incr, shared_cache


class FailureThrottle:
    def __init__(self, scope: str, *, limit: int, window_seconds: int):
        self.scope = scope
        self.limit = limit
        self.window_seconds = window_seconds

    def _key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
        return f"failures:{self.scope}:{digest}"

    def blocked(self, *parts: str) -> bool:
        key = self._key(*parts)
        count = caches["local"].get(key, 0)
        try:
            with shared_cache(use=self.scope) as cache:
                count = max(count, cache.get(key, 0))
        except CacheUnavailable:
            pass
        return count >= self.limit

    def record_failure(self, *parts: str) -> None:
        key = self._key(*parts)
        try:
            with shared_cache(use=self.scope) as cache:
                counter_incr(cache, key, timeout=self.window_seconds)
        except CacheUnavailable:
            counter_incr(caches["local"], key, timeout=self.window_seconds)

    def reset(self, *parts: str) -> None:
        key = self._key(*parts)
        caches["local"].delete(key)
        try:
            with shared_cache(use=self.scope) as cache:
                cache.delete(key)
        except CacheUnavailable:
            pass


# Failed password logins (EMS gateway login, Blynk user_credentials grant), counted per dialect,
# account (apps.access.logins.login_throttle_key) and client address: 10 within a minute lock that
# pair out for the rest of the minute.
login_failures = FailureThrottle("login_failures", limit=10, window_seconds=60)
