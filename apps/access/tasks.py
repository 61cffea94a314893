"""Celery tasks of the credentials: thin wrappers of the services, safe to run twice."""

from celery import shared_task

from .services import shown_once_prune


@shared_task(name="access.prune_shown_once", ignore_result=True)
def shown_once_prune_task() -> int:
    """Periodic (celery beat): new secrets never shown in time are deleted."""
    return shown_once_prune()
