"""Reads of import jobs, scoped to an organization."""

import uuid

from apps.core.exceptions import NotFound

from .models import ImportJob
from .services import SUMMARY_FIELDS


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
