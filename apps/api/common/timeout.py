"""The statement timeout every dialect request runs under (API_STATEMENT_TIMEOUT_SECONDS).

A request whose query runs long (a lock it waits for, a read of a huge range) would otherwise hold
its worker, and with a handful of sync workers a few such requests stop the API. PostgreSQL
cancels a statement past `statement_timeout`; the dialects answer that with a 503 and Retry-After
(apps/api/common/errors.py).

The limit is a setting of the database session, set when a dialect request starts (before
authentication, whose lookups are queries too) and reset when it ends: `SET LOCAL` would need
every request in a transaction, which the durable service transactions inside the views do not
allow, and the same connection serves the admin (whose exports and range deletions may rightly
run longer), the test suite and anything else in the process between API requests. Keeping the
limit on the session past the request, to save the reset, was tried: whatever used the connection
next ran under the API's limit. Celery tasks and management commands never set it. SQLite has
no statement timeout: there the setting does nothing.
"""

from django.conf import settings
from django.db import DatabaseError, connection


def statement_timeout_ms() -> int:
    """The setting in whole milliseconds (0: no limit); any positive value is at least 1 ms."""
    seconds = settings.API_STATEMENT_TIMEOUT_SECONDS
    return max(1, round(seconds * 1000)) if seconds > 0 else 0


def statement_timeout_start() -> bool:
    """Limit this connection's statements for the request; True when a limit was set."""
    timeout_ms = statement_timeout_ms()
    if connection.vendor != "postgresql" or not timeout_ms:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{timeout_ms}ms"])
    return True


def statement_timeout_end() -> None:
    """Back to the connection's own setting. Never raises: a connection that cannot take the
    reset (the database went away) is closed, so the next request starts on a fresh one."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    except DatabaseError:
        if not connection.in_atomic_block:
            connection.close()
