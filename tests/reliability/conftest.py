"""Tokens of every dialect for the two world organizations (`world` = A, `other_world` = B); the
helpers that get them are tests/api/dialect_clients.py."""

import pytest

from tests.api.dialect_clients import Tokens, tokens_for
from tests.api.endpoints import HTTP_METHODS, endpoints  # noqa: F401 (HTTP_METHODS: re-exported)


@pytest.fixture
def tokens_a(world) -> Tokens:
    return tokens_for(world)


@pytest.fixture
def tokens_b(other_world) -> Tokens:
    return tokens_for(other_world)


def dialect_endpoints() -> set[tuple[str, str]]:
    """(METHOD, route) for every action of every viewset in `apps.api` (tests/api/endpoints.py)."""
    return {(endpoint.method, endpoint.route) for endpoint in endpoints()}
