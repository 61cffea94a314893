"""One line of log and two metrics per request. The log line never holds credentials: no
headers, no bodies, and the values of secret-looking query parameters (Blynk sends client
secrets and passwords in the query string) are masked."""

import logging
import time
from urllib.parse import urlencode

from .metrics import LATENCY, REQUESTS

logger = logging.getLogger("ems.requests")

SECRET_PARAMETERS = frozenset(
    {"client_secret", "password", "refresh_token", "access_token", "token", "secret", "key", "code"}
)
MASK = "***"


def safe_query(query_dict) -> str:
    """The query string with every secret-looking parameter's value masked."""
    if not query_dict:
        return ""
    items = [
        (name, MASK if name.lower() in SECRET_PARAMETERS else value)
        for name, values in query_dict.lists()
        for value in values
    ]
    return "?" + urlencode(items, safe="*,[]")


def dialect_of(request) -> str:
    """The API dialect that answered (the package of the view), "admin", or "other"."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "other"
    view = getattr(match.func, "view_class", match.func)
    module = getattr(view, "__module__", "")
    if module.startswith("apps.api."):
        return module.split(".")[2]
    if match.app_name == "admin" or module.startswith("django.contrib.admin"):
        return "admin"
    return "other"


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        dialect = dialect_of(request)
        REQUESTS.labels(dialect, str(response.status_code)).inc()
        LATENCY.labels(dialect).observe(elapsed)
        logger.info(
            "%s %s%s %s %.1fms %s",
            request.method,
            request.path,
            safe_query(request.GET),
            response.status_code,
            elapsed * 1000,
            dialect,
        )
        return response
