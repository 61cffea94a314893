"""The latest-sample upkeep of the series table (`last_ts`, `last_value`, `next_ts`, `revision`).

Separate because it is not only the store's: the other writers of the sample table (deleting
ranges, retention) call it after their own changes.
"""

from django.db import connection

from apps.core import time as clock

from ..sql import ids_match


def latest_refresh(series_ids: list[int], *, now_ms: int | None = None) -> None:
    """Set each series' latest sample, the newest at or before `now_ms` (default: now), and its
    next one (`next_ts`: the oldest after it), from the table itself: one index probe each per
    series, and right whatever the policy dropped or replaced; and bump each series' revision,
    which invalidates what is cached about its samples. Public for the other writers of the
    sample table (deleting ranges, retention), which must keep both true as well."""
    now_ms = clock.now_ms() if now_ms is None else now_ms
    probe = (
        "SELECT {col} FROM timeseries_sample s WHERE s.series_id = timeseries_series.id "
        "AND s.ts {cmp} %s ORDER BY s.ts {order} LIMIT 1"
    )
    newest = probe.format(col="{col}", cmp="<=", order="DESC")
    match, params = ids_match("id", series_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE timeseries_series SET revision = revision + 1, last_ts = ({newest.format(col='s.ts')}), "
            f"last_value = ({newest.format(col='s.value')}), "
            f"next_ts = ({probe.format(col='s.ts', cmp='>', order='ASC')}) "
            f"WHERE {match}",
            [now_ms, now_ms, now_ms, *params],
        )
