"""Text forms of values for the store's hand-written SQL, shared by its modules."""

from collections.abc import Collection, Iterable

from django.db import connection


def array_literal(items: Iterable[str]) -> str:
    """A PostgreSQL array literal of already formatted items. psycopg would format a list item by
    item in Python: 0.25 ms for a 100-value batch's four arrays, against 0.07 ms joined here.
    Floats are written with repr(), the shortest text that reads back as the same double."""
    return "{" + ",".join(items) + "}"


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def ids_match(column: str, ids: Collection[int]) -> tuple[str, list]:
    """`column` is one of `ids`, as SQL and its parameters. PostgreSQL gets one array parameter
    (`= ANY`): psycopg formats an `IN (%s, ...)` list parameter by parameter, which measured 2-3 s
    for the 100,000 series of a large Blynk batch update against 0.5 s as an array (docs/
    performance.md). SQLite knows no arrays and keeps the list."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [array_literal(str(int(i)) for i in ids)]
    return f"{column} IN ({placeholders(len(ids))})", list(ids)
