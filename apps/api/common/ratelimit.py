"""The per-organization request limit (Organization.requests_per_minute, default a setting).

A fixed one-minute window counted in the cache: with CACHE_URL pointing at Redis the count is
shared by every web process and host. Requests past the limit get 429 with Retry-After set to
the seconds left in the window.
"""

import time

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

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
        if cache.add(key, 1, WINDOW_SECONDS + 5):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the key expired between add and incr
                cache.add(key, 1, WINDOW_SECONDS + 5)
                count = 1
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= organization.effective_requests_per_minute

    def wait(self) -> int:
        return max(1, int(self._wait + 0.999))
