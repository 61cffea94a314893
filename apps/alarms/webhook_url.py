"""Where a webhook may point: http(s) only, and, unless ALARM_WEBHOOK_ALLOW_PRIVATE, never a
loopback, link-local, private or otherwise non-public address (server-side request forgery: a
webhook must not reach the database, the metadata service or the admin from inside).

The address is checked when the webhook is saved and again, resolved, at every send; the
request then goes to the address that was checked, so a name that resolves elsewhere between the
check and the connection (DNS rebinding) reaches nothing new.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.exceptions import Invalid


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def webhook_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, checked IP address) of `url`; Invalid when it may not be reached."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("A webhook URL must be an http or https URL.", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Invalid("The webhook URL's port is not valid.", field="url") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Invalid(f"The webhook's host {parts.hostname} does not resolve.", field="url") from exc
    addresses = [info[4][0] for info in infos]
    if not settings.ALARM_WEBHOOK_ALLOW_PRIVATE and not all(_public(a) for a in addresses):
        raise Invalid("A webhook may not point to a loopback, link-local or private address.", field="url")
    return parts.scheme, parts.hostname, port, addresses[0]
