"""Tokens of every dialect for the two demo organizations (`demo` = A, `other_demo` = B); the
helpers that get them are tests/api/dialect_clients.py."""

import pytest

from tests.api.dialect_clients import Tokens, tokens_for
from tests.api.endpoints import HTTP_METHODS, endpoints  # noqa: F401 (HTTP_METHODS: re-exported)


@pytest.fixture
def tokens_a(demo) -> Tokens:
    return tokens_for(demo)


@pytest.fixture
def tokens_b(other_demo) -> Tokens:
    return tokens_for(other_demo)


def dialect_endpoints() -> set[tuple[str, str]]:
    """(METHOD, route) for every action of every viewset in `apps.api` (tests/api/endpoints.py)."""
    return {(endpoint.method, endpoint.route) for endpoint in endpoints()}
