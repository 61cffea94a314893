"""Reads of import jobs, scoped to an organization."""

import logging
import uuid

from celery import current_app
from django.conf import settings
from django.db.models import Count

from apps.core.exceptions import NotFound

from .models import ImportJob

# Job columns small enough to read on every status request (never the payload).
SUMMARY_FIELDS = (
    "id",
    "organization",
    "user",
    "token",
    "dialect",
    "status",
    "variables",
    "points",
    "written",
    "error",
    "attempts",
    "payload_bytes",
    "created_at",
    "enqueued_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)


def import_job_get(*, organization, job_id: str | uuid.UUID) -> ImportJob:
    """The organization's job `job_id`, without its payload. NotFound when there is no such job in
    the organization (another organization's job included) or `job_id` is not a UUID."""
    try:
        key = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        key = None
    job = None
    if key is not None:
        job = ImportJob.objects.only(*SUMMARY_FIELDS).filter(organization=organization, pk=key).first()
    if job is None:
        raise NotFound("Not found.", field="job")
    return job


def import_job_status_counts() -> dict[str, int]:
    """Jobs of every organization by status (every status present, zeros included)."""
    counts = dict.fromkeys(ImportJob.Status.values, 0)
    counts.update(ImportJob.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return counts


def import_queue_depth() -> int | None:
    """Messages waiting in the broker's import queue; None without a broker or when it does not
    answer (metrics must never fail a scrape)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    try:
        with current_app.connection_for_read() as connection:
            queue = connection.default_channel.queue_declare(settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)
            return queue.message_count
    except Exception:
        logging.getLogger(__name__).warning("import queue depth unavailable", exc_info=True)
        return None
