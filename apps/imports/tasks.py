"""Celery tasks: thin wrappers of the services, safe to run twice (see services.py)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import import_history_purge, import_run, import_sweep


@shared_task(
    name="imports.run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # A database that went away for a moment: retry soon rather than wait for the sweeper.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def import_run_task(job_id: str) -> None:
    import_run(job_id=job_id)


@shared_task(name="imports.sweep", ignore_result=True)
def import_sweep_task() -> int:
    return len(import_sweep())


@shared_task(name="imports.purge", ignore_result=True)
def import_purge_task() -> None:
    """Periodic (celery beat): old finished jobs and daily import counts. Idempotent."""
    import_history_purge()
