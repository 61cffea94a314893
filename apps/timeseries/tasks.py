from celery import shared_task

from .retention import samples_expire
from .stats.basis import statistics_pending_clear, statistics_stale_enqueue
from .stats.rebuild import statistics_rebuild


@shared_task(name="timeseries.expire_samples", acks_late=True)
def expire_samples() -> int:
    """Periodic (celery beat): apply every organization's sample retention. Idempotent."""
    return samples_expire()


@shared_task(name="timeseries.statistics_check", ignore_result=True)
def statistics_check_task() -> int:
    """Periodic (celery beat, every minute): enqueue the recomputation of the series whose kind,
    interval end or zone changed since their statistics were computed (stats/basis.py)."""
    return statistics_stale_enqueue()


@shared_task(
    name="timeseries.statistics_recompute", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def statistics_recompute_task(series_ids: list[int]) -> int:
    """Recompute these series' statistics from their samples and clear their
    `statistics_pending`. Idempotent: running it twice recomputes twice. A failure leaves the
    series not pending, for the next check (every minute) to enqueue again."""
    try:
        return statistics_rebuild(series_ids)
    except Exception:
        statistics_pending_clear(series_ids=series_ids)
        raise
