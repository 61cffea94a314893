"""Counting failed attempts (logins, token requests) in the cache, shared by every process when
the cache is Redis. A fixed window starts with the first failure."""

import hashlib

from django.core.cache import cache


class FailureThrottle:
    def __init__(self, scope: str, *, limit: int, window_seconds: int):
        self.scope = scope
        self.limit = limit
        self.window_seconds = window_seconds

    def _key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
        return f"failures:{self.scope}:{digest}"

    def blocked(self, *parts: str) -> bool:
        return cache.get(self._key(*parts), 0) >= self.limit

    def record_failure(self, *parts: str) -> None:
        key = self._key(*parts)
        if cache.add(key, 1, self.window_seconds):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, self.window_seconds)

    def reset(self, *parts: str) -> None:
        cache.delete(self._key(*parts))


def client_address(request) -> str:
    """The address the request came from. Behind a proxy, run gunicorn with
    --forwarded-allow-ips so REMOTE_ADDR is the client's."""
    return request.META.get("REMOTE_ADDR", "")


# Failed password logins (EMS gateway login, Blynk user_credentials grant), counted per dialect,
# username and client address: 10 within a minute lock that pair out for the rest of the minute.
login_failures = FailureThrottle("login", limit=10, window_seconds=60)
