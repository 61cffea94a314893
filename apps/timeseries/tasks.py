from celery import shared_task

from .retention import samples_expire


@shared_task(name="timeseries.expire_samples", acks_late=True)
def expire_samples() -> int:
    """Periodic (celery beat): apply every organization's sample retention. Idempotent."""
    return samples_expire()
