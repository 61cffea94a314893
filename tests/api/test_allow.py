"""The `Allow` header and the methods answered agree on every endpoint of every dialect: OPTIONS
is answered 405 in the dialect's shape (no vendor offers it), so no `Allow` header lists it."""

import pytest
from rest_framework.test import APIClient

from tests.reliability.conftest import HTTP_METHODS, dialect_endpoints

# A path each route answers, its parameters filled in (an unknown id is fine: the header is what
# is tested), and the catch-all routes by a path no other route takes.
CATCH_ALL = {
    "^api/v[12]/organization/": "/api/v1/organization/unknown",
    "^ingest/": "/ingest/unknown",
    "^v1/.*$": "/v1/unknown",
}


def concrete(route: str) -> str:
    if route in CATCH_ALL:
        return CATCH_ALL[route]
    parts = ["1" if part.startswith("{") else part for part in route.split("/")]
    return "/" + "/".join(parts)


def routes() -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {}
    for method, route in dialect_endpoints():
        methods.setdefault(route, set()).add(method)
    return methods


def allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


@pytest.mark.parametrize(("route", "methods"), sorted(routes().items()), ids=lambda item: str(item))
def test_allow_lists_exactly_the_methods_answered_and_never_options(world, route, methods):
    path = concrete(route)
    expected = methods | ({"HEAD"} if "GET" in methods else set())
    client = APIClient()

    responses = {method: client.generic(method, path) for method in sorted(expected)}
    options = client.options(path)

    for method, response in responses.items():
        assert response.status_code != 405, (method, path)
        assert allowed(response) == expected, (method, path)
    assert options.status_code in (401, 405), path
    assert allowed(options) == expected, path
    # The methods no view has are refused too, and say so in the same header.
    for method in {m.upper() for m in HTTP_METHODS} - expected:
        refused = client.generic(method, path)
        assert (refused.status_code in (401, 405), allowed(refused)) == (True, expected), (method, path)


def test_options_with_credentials_is_405_in_the_dialects_shape(world):
    ems = APIClient().post(
        "/v1/auth/login",
        {"username": world["ems"]["username"], "password": world["ems"]["password"]},
        format="json",
    )
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {ems.json()['token']}")

    response = client.options("/v1/devices")

    assert response.status_code == 405
    assert response.json() == {"error": 'Method "OPTIONS" not allowed.'}
    assert response["Allow"] == "GET, HEAD"
