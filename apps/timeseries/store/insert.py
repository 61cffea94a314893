"""Writes as INSERT ... ON CONFLICT statements: SQLite's multi-row VALUES, and PostgreSQL's four
arrays for small batches.

Separate from the COPY path because these are ordinary statements, run through Django's cursor
like any other (query capture and fault injection see them), and both share the conflict clause
and the reading of `RETURNING` under KEEP.
"""

import numpy as np
from django.db import connection

from ..sql import array_literal
from .batch import Policy, Rows

# SQLite: rows per INSERT ... VALUES statement; 4 parameters a row stays below its limit.
VALUES_CHUNK = 1_000


def values_write(rows: Rows, policy: Policy) -> tuple[int, np.ndarray | None]:
    """SQLite: multi-row INSERT ... ON CONFLICT, chunked.

    Under KEEP, `RETURNING` names the rows actually inserted, which is exact even against
    writers that do not go through this module.
    """
    conflict = _conflict_clause(policy)
    tuples = rows.as_tuples()
    inserted: set[tuple[int, int]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(tuples), VALUES_CHUNK):
            chunk = tuples[start : start + VALUES_CHUNK]
            values_sql = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
                f"VALUES {values_sql} ON CONFLICT (series_id, ts) {conflict}",
                [item for row in chunk for item in row],
            )
            if policy is Policy.KEEP:
                inserted.update((sid, ts) for sid, ts in cursor.fetchall())
    if policy is Policy.OVERWRITE:
        return len(rows), None
    return _kept_from_inserted(rows, inserted)


def arrays_write(rows: Rows, policy: Policy) -> tuple[int, np.ndarray | None]:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(four arrays) ON CONFLICT. Its text is the
    same for every batch (psycopg converts it once and keeps it), and PostgreSQL reads four array
    values instead of a statement with 400 parameters. Under KEEP, `RETURNING` names the rows
    inserted."""
    arrays = [
        array_literal(map(str, rows.series_ids.tolist())),
        array_literal(map(str, rows.ts.tolist())),
        array_literal(map(repr, rows.values.tolist())),
        array_literal("NULL" if quality is None else str(quality) for quality in rows.quality_list()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value, quality) "
            "SELECT * FROM unnest(%s::int8[], %s::int8[], %s::float8[], %s::int2[]) "
            f"ON CONFLICT (series_id, ts) {_conflict_clause(policy)}",
            arrays,
        )
        if policy is Policy.OVERWRITE:
            return len(rows), None
        if cursor.rowcount == len(rows):  # everything inserted (the usual case): no rows to read
            return len(rows), np.empty(0, dtype=np.int64)
        inserted = {(sid, ts) for sid, ts in cursor.fetchall()}
    return _kept_from_inserted(rows, inserted)


def _conflict_clause(policy: Policy) -> str:
    if policy is Policy.OVERWRITE:
        return "DO UPDATE SET value = excluded.value, quality = excluded.quality"
    return "DO NOTHING RETURNING series_id, ts"


def _kept_from_inserted(rows: Rows, inserted: set[tuple[int, int]]) -> tuple[int, np.ndarray]:
    """KEEP: how many rows were inserted, and the input positions of the others."""
    kept = np.fromiter(
        ((sid, ts) in inserted for sid, ts in zip(rows.series_ids.tolist(), rows.ts.tolist(), strict=True)),
        dtype=bool,
        count=len(rows),
    )
    return int(kept.sum()), rows.positions[~kept]
