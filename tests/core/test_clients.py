"""The client address the login throttles key on (apps/core/clients.py)."""

import pytest
from django.test import RequestFactory

from apps.core.clients import client_address


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().post("/v1/auth/login", **extra))


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []

    assert address("198.51.100.9", "203.0.113.7") == "198.51.100.9"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # the proxy appended the client; what the client sent on the left is not believed
        ("10.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # two trusted proxies in a row
        ("10.0.0.1", "203.0.113.7, 10.0.0.2", "203.0.113.7"),
        # a request from outside the trusted proxies is taken at its word
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),
        # no header: the proxy itself
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
        # only trusted hops: the left-most
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),
        # an entry that is no address ends the walk at the last good hop
        ("10.0.0.1", "203.0.113.7, garbage, 10.0.0.2", "10.0.0.2"),
        # ports, brackets, IPv6, IPv4-mapped IPv6
        ("10.0.0.1", "203.0.113.7:51234", "203.0.113.7"),
        ("10.0.0.1", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.1", "2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "203.0.113.7", "203.0.113.7"),
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    settings, remote, forwarded, client
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert address(remote, forwarded) == client


def test_trusted_proxies_may_be_single_addresses_of_both_families(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1", "2001:db8::10"]

    assert address("10.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert address("2001:db8::10", "203.0.113.8") == "203.0.113.8"
    assert address("10.0.0.2", "203.0.113.7") == "10.0.0.2"
