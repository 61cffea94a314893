"""Writes to the store other than `store.write`: deleting samples by range.

Hand-written SQL for the reasons the store gives (samples are never model instances): one
DELETE on a range of the primary key, then the series' latest sample brought up to date by the
store's own statement, all in one transaction under the store's series lock, so a concurrent
write of the same series waits and the latest sample is exact when either commits.
"""

from django.db import connection, transaction

from .stats.buckets import statistics_recompute
from .store import latest_refresh
from .write_order import series_lock_calendars


@transaction.atomic(durable=True)
def samples_delete(*, series_id: int, start_ms: int, end_ms: int) -> int:
    """Delete the series' samples with `start_ms <= ts < end_ms` and return how many went.

    The series' `last_ts` / `last_value` are refreshed from the samples that remain (None when
    none do). Raises NotFound when the series does not exist; an empty range deletes nothing.
    """
    _, calendars = series_lock_calendars([series_id])
    if start_ms >= end_ms:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM timeseries_sample WHERE series_id = %s AND ts >= %s AND ts < %s",
            [series_id, start_ms, end_ms],
        )
        deleted = cursor.rowcount
    if deleted:
        statistics_recompute([(series_id, start_ms, end_ms - 1)], calendars=calendars)
        latest_refresh([series_id])
    return deleted
