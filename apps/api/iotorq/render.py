"""The ioTORQ dialect's response bodies."""

from datetime import UTC, datetime

from apps.imports.models import ImportJob


def _timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as DRF renders datetimes."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def accepted(job: ImportJob) -> dict:
    return {"job": str(job.pk), "status": job.status, "variables": job.variables, "points": job.points}


def job(job: ImportJob) -> dict:
    return {
        "job": str(job.pk),
        "status": job.status,
        "variables": job.variables,
        "points": job.points,
        "written": job.written,
        "error": job.error or None,
        "created": _timestamp(job.created_at),
        "finished": _timestamp(job.finished_at),
    }
