"""The per-organization request limit (Organization.requests_per_minute, default a setting), the
throttle of every tenant endpoint (failed logins are counted apart, in login_failures.py).

A fixed one-minute window counted in the cache: with CACHE_URL pointing at Redis the count is
shared by every web process and host. Requests past the limit get 429 with Retry-After set to
the seconds left in the window.

While the cache is down the limit is not checked: the request is let through (and counted in
`ems_cache_errors_total` / `ems_cache_skipped_total` with use="request_limit"), because refusing
every request of every organization would turn a cache outage into an API outage.
"""

import time

from rest_framework.throttling import BaseThrottle

from apps.core.shared_cache import CacheUnavailable, counter_incr, shared_cache

WINDOW_SECONDS = 60


class OrganizationRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        principal = getattr(request, "auth", None)
        organization = getattr(principal, "organization", None)
        if organization is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"rate:{organization.pk}:{window}"
        try:
            with shared_cache(use="request_limit") as cache:
                count = counter_incr(cache, key, timeout=WINDOW_SECONDS + 5)
        except CacheUnavailable:
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= organization.effective_requests_per_minute

    def wait(self) -> int:
        return max(1, int(self._wait + 0.999))
