"""Sample retention: each organization's samples older than its retention are deleted.

Deletion runs in batches of at most `batch_size` samples, each in its own short transaction, so
expiring years of data never holds a long lock or a huge transaction; the primary key
(series_id, ts) makes every batch an index range. A later partitioned sample table would drop
whole partitions instead (docs/scaling.md).
"""

from django.db import connection, transaction

from apps.core import time as clock
from apps.core.exceptions import NotFound
from apps.tenancy.models import Organization

from .models import Series
from .stats.buckets import statistics_recompute
from .store import latest_refresh
from .write_order import series_lock_calendars

DAY_MS = 86_400_000


def samples_expire(*, now_ms: int | None = None, batch_size: int = 50_000) -> int:
    """Delete every organization's samples older than its retention; returns how many went.

    Organizations whose retention is 0 (the default: keep forever) are skipped.
    """
    now_ms = clock.now_ms() if now_ms is None else now_ms
    deleted = 0
    for organization in Organization.objects.all():
        days = organization.effective_sample_retention_days
        if days <= 0:
            continue
        cutoff = now_ms - days * DAY_MS
        series_ids = Series.objects.filter(organization=organization)
        for series_id in series_ids.values_list("id", flat=True).iterator():
            deleted += _series_expire(series_id=series_id, cutoff_ms=cutoff, batch_size=batch_size)
    return deleted


def _series_expire(*, series_id: int, cutoff_ms: int, batch_size: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # As every change to the samples: a concurrent write of this series waits, so the
            # latest sample refreshed below cannot miss it.
            try:
                _, calendars = series_lock_calendars([series_id])
            except NotFound:
                return deleted  # deleted meanwhile, and its samples with it
            # The batch's upper bound: the batch_size-th oldest expired sample (or the cutoff).
            cursor.execute(
                "SELECT ts FROM timeseries_sample WHERE series_id = %s AND ts < %s"
                " ORDER BY ts LIMIT 1 OFFSET %s",
                [series_id, cutoff_ms, batch_size - 1],
            )
            row = cursor.fetchone()
            upper = row[0] + 1 if row is not None else cutoff_ms
            cursor.execute("SELECT MIN(ts) FROM timeseries_sample WHERE series_id = %s", [series_id])
            oldest = cursor.fetchone()[0]
            cursor.execute(
                "DELETE FROM timeseries_sample WHERE series_id = %s AND ts < %s", [series_id, upper]
            )
            count = cursor.rowcount
            if count:
                statistics_recompute([(series_id, oldest, upper - 1)], calendars=calendars)
                latest_refresh([series_id])
        deleted += count
        if row is None:
            return deleted
