"""Every endpoint of the four dialects, enumerated from the root URLconf: one Endpoint per
(method, route), with the viewset and action serving it. The isolation matrix
(tests/reliability/test_isolation.py), the `Allow` test and the query-count test take their
endpoints from here, so an endpoint added anywhere is found by all of them."""

import re
from dataclasses import dataclass

from django.urls import URLResolver, get_resolver

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Endpoint:
    method: str  # upper case
    route: str  # the path with `{name}` for its parameters; a catch-all keeps its regex
    viewset: type
    action: str


def readable(pattern: str) -> str:
    """`^v1/devices/(?P<device_uid>[^/]+)/loads$` and `v1/devices/<str:device_uid>/loads` both
    read `v1/devices/{device_uid}/loads`; a regex that is more than named groups stays itself."""
    route = _CONVERTER.sub(r"{\1}", _GROUP.sub(r"{\1}", pattern))
    if not (route.startswith("^") and route.endswith("$")):
        return route
    inner = route[1:-1]
    return pattern if re.search(r"[\[\]()*+?.\\|]", inner) else inner


def endpoints() -> list[Endpoint]:
    found: list[Endpoint] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
                continue
            viewset = getattr(entry.callback, "cls", None)
            route = readable(prefix + str(entry.pattern))
            if not hasattr(entry.callback, "actions"):
                # Every view of apps.api is a viewset action; any other view lies outside it.
                view = getattr(entry.callback, "view_class", entry.callback)
                assert not view.__module__.startswith("apps.api."), f"{route}: {view} is not a viewset"
                continue
            if not viewset.__module__.startswith("apps.api."):
                continue
            for method, action in entry.callback.actions.items():
                if method in HTTP_METHODS:
                    found.append(Endpoint(method.upper(), route, viewset, action))

    walk(get_resolver().url_patterns, "")
    return found
