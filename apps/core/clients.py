"""The address a request comes from, for the login throttles (the API logins and the admin's).

Behind a reverse proxy REMOTE_ADDR is the proxy's: every client would share one address, and ten
bad logins a minute from anyone would lock every user out. gunicorn does not rewrite REMOTE_ADDR
from X-Forwarded-For (its `--forwarded-allow-ips` only concerns the scheme headers), so the
project reads the header itself, trusting only the proxies named in TRUSTED_PROXIES.

Each proxy appends the address it received the request from to X-Forwarded-For, so the entries
a client can forge are on the left. The client is the right-most entry that is not a trusted
proxy, walking from REMOTE_ADDR leftwards while each hop is trusted. A request whose REMOTE_ADDR
is not a trusted proxy is taken at its word: its header is ignored.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip())


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:80`;
    an IPv4-mapped IPv6 address is its IPv4 address. None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request) -> str:
    """The client's address (normalized text; "" when the server gave none): REMOTE_ADDR, or,
    when that is a proxy in TRUSTED_PROXIES (addresses or networks), the right-most
    X-Forwarded-For entry that is not one. An entry that is not an address ends the walk at the
    last good hop: a proxy that forwards garbage cannot give each request a key of its own."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    client = remote
    if networks and _trusted(remote, networks):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for entry in reversed(forwarded.split(",")):
            hop = parse_address(entry)
            if hop is None:
                break
            client = hop
            if not _trusted(hop, networks):
                break
    return str(client)
