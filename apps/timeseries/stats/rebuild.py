"""Recompute whole series' statistics from their samples: after a change of kind or time zone,
for rows stored before the statistics existed, and as the reference the tests compare with."""

from collections.abc import Callable, Sequence

from django.db import connection, transaction

from ..sql import ids_match
from ..write_order import series_lock_calendars
from .buckets import rows_source, statistics_recompute

# Series recomputed per transaction by `statistics_rebuild`.
REBUILD_CHUNK = 100


def series_statistics_recompute(series_ids: Sequence[int]) -> None:
    """Drop and recompute the statistics of `series_ids` from all their samples, in the caller's
    transaction, which must not hold their locks yet: they are taken here, with the calendars
    (kind, interval end, zone) the statistics are computed for; those are recorded on each series
    (`statistics_kind`, ...: basis.py) and its `statistics_pending` cleared."""
    if not series_ids:
        return
    _, calendars = series_lock_calendars(sorted(set(series_ids)), missing_ok=True)
    if not calendars:
        return
    ids = sorted(calendars)
    match, params = ids_match("series_id", ids)
    with connection.cursor() as cursor:
        for table in ("timeseries_stats_quarter", "timeseries_stats_day"):
            cursor.execute(f"DELETE FROM {table} WHERE {match}", params)
        cursor.execute(
            f"SELECT series_id, MIN(ts), MAX(ts) FROM timeseries_sample WHERE {match} GROUP BY series_id",
            params,
        )
        spans = cursor.fetchall()
        statistics_recompute([(sid, lo, hi) for sid, lo, hi in spans], calendars=calendars, grows=True)
        source, source_params = rows_source(
            [("id", "int8"), ("kind", "text"), ("interval_end", "int8"), ("zone", "text")],
            [(sid, c.kind, int(c.interval_end), c.zone) for sid, c in calendars.items()],
        )
        cursor.execute(
            f"UPDATE timeseries_series SET statistics_pending = FALSE, statistics_kind = b.kind, "
            f"statistics_interval_end = (b.interval_end = 1), statistics_zone = b.zone "
            f"FROM ({source}) AS b WHERE b.id = timeseries_series.id",
            source_params,
        )


def statistics_rebuild(
    series_ids: Sequence[int], *, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute the statistics of `series_ids`, REBUILD_CHUNK series per transaction (under
    their locks, so writes wait and nothing is missed); `progress(done, total)` after each.
    Series deleted meanwhile are skipped. Returns how many series were recomputed."""
    ids = sorted(set(series_ids))
    done = 0
    for start in range(0, len(ids), REBUILD_CHUNK):
        chunk = ids[start : start + REBUILD_CHUNK]
        with transaction.atomic():
            series_statistics_recompute(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, len(ids))
    return done
