"""Import jobs: accept, run, sweep, retry.

The life of an import: `import_accept` resolves the variables, stores the job with its points in
one transaction and enqueues its run on commit (the client hears 202 only after that commit);
`import_run` (the Celery task's body) writes the points through the store, chunk by chunk, and
marks the job done; `import_sweep` (a beat task) re-enqueues jobs that stopped moving, so a lost
message or a killed worker delays an import but never loses it.

Write order: accepting a job gives it the store's next acceptance number (`write_accept`, under
the locks of its series) and its chunks are written under that number, so a sample set by a
write accepted after the job (a synchronous write, a later import) is left alone, however late or
in whatever order the workers run; the job's series stay pending until it is done or failed
(`write_release`, in the transaction that says so). A retry is a new acceptance.

Why a run is safe to repeat, whole or in part: points are written with the `overwrite` policy in
input order, each chunk in one transaction together with the job's progress (`written`), and a
run resumes from the committed progress under the job's row lock. Re-writing a committed chunk
writes the same values; a chunk is never half-applied; two runs of one job take turns chunk by
chunk. The stored result is therefore that of writing the accepted points once, in order: within
an import the last occurrence of a timestamp wins.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.exceptions import EmsError, Invalid
from apps.core.queue import enqueue, task_named
from apps.inventory.models import DeviceImportDay
from apps.timeseries.models import Series
from apps.timeseries.selectors import series_resolve
from apps.timeseries.store import (
    Policy,
    SampleBatch,
    series_lock,
    write,
    write_accept,
    write_pending,
    write_release,
)

from . import payload
from .models import ImportJob
from .selectors import SUMMARY_FIELDS

logger = logging.getLogger(__name__)

Status = ImportJob.Status

# Sent by name when a job is done: the alarms app evaluates its rules on what was written.
AFTER_IMPORT_TASK = "alarms.evaluate"


class ImportRejected(Invalid):
    """An import with one or more errors; each item of `errors` is an Invalid naming its field and
    the index of the offending item. Nothing of a rejected import is stored."""

    def __init__(self, errors: Sequence[Invalid], message: str = "Invalid import."):
        super().__init__(message)
        self.errors = list(errors)


@dataclass(frozen=True)
class VariableRef:
    """How a dialect names a variable (a Series): by meter code or by id."""

    meter_code: str | None = None
    series_id: int | None = None


@dataclass(frozen=True)
class ImportPoints:
    """Validated points of an import, not yet resolved: item i names `variables[i]` and owns the
    next `lengths[i]` points of `ts` (epoch ms, int64) and `values` (finite float64)."""

    variables: Sequence[VariableRef]
    lengths: np.ndarray
    ts: np.ndarray
    values: np.ndarray


def import_accept(*, organization, user, dialect: str, points: ImportPoints, token=None) -> ImportJob:
    """Resolve the variables of `points` in `organization` and store the job, durably, in one
    transaction; its run is enqueued when that transaction commits.

    Raises ImportRejected (field "variable", index of the item) when a variable does not exist in
    the organization; a variable of another organization is unknown, the same way. Returns the
    job as it is after the commit: with no broker (tasks run in-process) it is already done.
    """
    with transaction.atomic(durable=True):
        item_series = _resolve(organization, points.variables)
        series_ids = np.repeat(np.asarray(item_series, dtype=np.int64), points.lengths)
        packed = payload.pack(payload.Points(series_ids, points.ts, points.values))
        distinct = sorted(set(item_series))
        now = timezone.now()
        job = ImportJob.objects.create(
            organization=organization,
            user=user,
            token=token,
            dialect=dialect,
            variables=len(distinct),
            points=len(points.ts),
            series_ids=distinct,
            seq=write_accept(series_ids=distinct),
            payload_bytes=len(packed),
            enqueued_at=now,
            heartbeat_at=now,
        )
        _store_payload(job.pk, packed)
        transaction.on_commit(partial(_enqueue, job.pk))
    job.refresh_from_db(fields=["status", "written", "error", "attempts", "started_at", "finished_at"])
    return job


def _store_payload(job_id, packed: bytes) -> None:
    """Django's psycopg cursors bind parameters client-side, which spells half a megabyte of bytea
    as a megabyte of hex inside the SQL text: measured 10 ms of the 22 ms it takes to accept a
    2 MB import. On PostgreSQL the payload travels as one binary parameter instead (~1 ms), on
    the connection and in the transaction Django holds."""
    if connection.vendor != "postgresql":
        ImportJob.objects.filter(pk=job_id).update(payload=packed)
        return
    import psycopg

    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("UPDATE imports_importjob SET payload = %b WHERE id = %s", [packed, job_id])


def _resolve(organization, variables: Sequence[VariableRef]) -> list[int]:
    by_code, found_ids = series_resolve(
        organization=organization,
        meter_codes=[v.meter_code for v in variables if v.meter_code is not None],
        ids=[v.series_id for v in variables if v.meter_code is None],
    )
    resolved, errors = [], []
    for index, variable in enumerate(variables):
        if variable.meter_code is not None:
            series_id = by_code.get(variable.meter_code)
            missing = f"No variable with meter code {variable.meter_code!r} exists."
        else:
            series_id = variable.series_id if variable.series_id in found_ids else None
            missing = f"No variable with id {variable.series_id} exists."
        if series_id is None:
            errors.append(Invalid(missing, field="variable", index=index))
        resolved.append(series_id)
    if errors:
        raise ImportRejected(errors)
    return resolved


def _enqueue(job_id) -> None:
    """Hand the job to Celery. Runs after commit; when the broker is down the job stays queued
    and the sweeper enqueues it later, so the failure is only logged.

    The failure is caught here, not with `on_commit(..., robust=True)`: Django's robust hook
    names the failed callable by `__qualname__`, which a functools.partial lacks, so with the
    broker down an accepted import was answered 500 (AttributeError) instead of 202, and a sweep
    stopped at its first job (found by tests/reliability/test_crash.py). By the task's name:
    tasks.py imports this module."""
    try:
        enqueue("imports.run", str(job_id))
    except Exception:
        logger.exception("import job %s not enqueued (broker down?); the sweeper will send it", job_id)


def import_run(*, job_id) -> ImportJob | None:
    """Write the job's points through the store (`overwrite`), resuming from its progress, and mark
    it done; safe to call any number of times, concurrently too (see the module docstring).

    A job that is done, failed or missing is left alone (None). A job that has already started
    IMPORT_MAX_ATTEMPTS runs is marked failed instead of run again: something kills every attempt.
    Errors of the data (a variable deleted since the import was accepted) fail the job with their
    message; anything else (the database went away) propagates, leaving the job for a retry.
    """
    job = _claim(job_id)
    if job is None:
        return None
    try:
        points = payload.unpack(bytes(job.payload))
        _write_chunks(job, points)
    except EmsError as exc:
        _fail(job.pk, exc.message)
    return ImportJob.objects.only(*SUMMARY_FIELDS).get(pk=job.pk)


def _claim(job_id) -> ImportJob | None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        now = timezone.now()
        if job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            job.status, job.finished_at = Status.FAILED, now
            job.error = f"Gave up after {job.attempts} attempts that did not finish."
            job.save(update_fields=["status", "finished_at", "error"])
            _release(job.seq, job.series_ids)
            logger.error("import job %s: %s", job.pk, job.error)
            return None
        job.status, job.attempts, job.heartbeat_at = Status.RUNNING, job.attempts + 1, now
        job.started_at = job.started_at or now
        job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at"])
        return job


def _write_chunks(job: ImportJob, points: payload.Points) -> None:
    """One transaction per chunk: the chunk's samples and the job's progress commit together.
    The job row lock makes concurrent runs of one job take turns; each continues from the
    progress it finds. Chunks are written under the job's acceptance number; the last one also
    releases it, after locking all of the job's series first (in id order, as every writer
    does: taking the chunk's series first and the others after could deadlock)."""
    total, chunk = len(points), max(1, settings.IMPORT_CHUNK_POINTS)
    while True:
        with transaction.atomic():
            current = ImportJob.objects.select_for_update().only("status", "written").get(pk=job.pk)
            if current.status != Status.RUNNING:
                return  # another run finished it meanwhile
            start = current.written
            stop = min(start + chunk, total)
            if stop >= total and job.seq is not None:
                series_lock(job.series_ids, missing_ok=True)
            if stop > start:
                part = points.slice(start, stop)
                write(
                    SampleBatch(series_ids=part.series_ids, ts=part.ts, values=part.values),
                    Policy.OVERWRITE,
                    seq=job.seq,
                )
            now = timezone.now()
            update = {"written": stop, "heartbeat_at": now}
            if stop >= total:
                # A done job never runs again: its packed points (~0.5 MB for a 2 MB request)
                # are released with the last chunk. Failed jobs keep theirs for a retry.
                update |= {"status": Status.DONE, "finished_at": now, "error": "", "payload": None}
                _release(job.seq, job.series_ids)
                transaction.on_commit(_after_import)
            ImportJob.objects.filter(pk=job.pk).update(**update)
        if stop >= total:
            return


def _after_import() -> None:
    """Ask for an alarm evaluation now that the job's samples are in (docs/decisions.md): by the
    task's name, since imports sit below alarms and may not import them. Without the alarms app
    there is no such task and nothing is sent; a lost message costs a minute (beat evaluates
    every minute anyway)."""
    try:
        task = task_named(AFTER_IMPORT_TASK)
        if task is not None:
            task.delay()
    except Exception:
        logger.exception("alarm evaluation after an import not enqueued; beat will run it")


def _release(seq: int | None, series_ids: list[int]) -> None:
    """The job is done or failed: its series are no longer pending for it (write order)."""
    if seq is not None:
        write_release(seq=seq, series_ids=series_ids)


def _fail(job_id, message: str) -> None:
    """Mark the job failed (unless a run finished it meanwhile) and release its series: a failed
    job holds back no one's writes; a retry accepts it anew."""
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update()
            .filter(pk=job_id)
            .only("status", "seq", "series_ids")
            .first()
        )
        if job is None or job.status == Status.DONE:
            return
        ImportJob.objects.filter(pk=job_id).update(
            status=Status.FAILED, error=message, finished_at=timezone.now()
        )
        _release(job.seq, job.series_ids)
    logger.warning("import job %s failed: %s", job_id, message)


def import_sweep(*, now: datetime | None = None, limit: int = 1_000) -> list:
    """Re-enqueue the unfinished jobs that showed no sign of life for IMPORT_STUCK_AFTER_SECONDS:
    queued ones whose message was lost, running ones whose worker died. Returns their ids.

    A job a run is writing right now holds its row lock and is skipped (on PostgreSQL). A slow but
    alive job that is re-enqueued anyway costs only a run that waits its turn and finds it done.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMPORT_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        stuck = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Status.QUEUED, Status.RUNNING], heartbeat_at__lt=cutoff)
            .order_by("heartbeat_at")
            .values_list("pk", flat=True)[:limit]
        )
        if stuck:
            ImportJob.objects.filter(pk__in=stuck).update(heartbeat_at=now, enqueued_at=now)
            for job_id in stuck:
                transaction.on_commit(partial(_enqueue, job_id))
    if stuck:
        logger.warning("re-enqueued %d stuck import jobs", len(stuck))
    _orphans_release()
    return stuck


def _orphans_release() -> None:
    """Release the pending writes that no unfinished job holds any more: a job deleted while
    queued (from the admin, or with its organization) would otherwise keep its series pending,
    and every write to them leaving marks, for good. Jobs hold theirs from the transaction that
    accepts them to the one that finishes them, so a pending write without a live job is an
    orphan, never one about to be taken."""
    pending = write_pending()
    if not pending:
        return
    unfinished = ImportJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING], seq__in=list(pending))
    live = set(unfinished.values_list("seq", flat=True))
    for seq, series_ids in pending.items():
        if seq not in live:
            with transaction.atomic():
                write_release(seq=seq, series_ids=series_ids)


def import_retry(*, job: ImportJob) -> bool:
    """Queue a failed job again, with a fresh attempt budget; it resumes from its progress.
    False (and nothing changes) when the job has not failed.

    The retry is a new acceptance (a new acceptance number): the rest of its points win over
    writes made while it lay failed, as if it had been sent again now. (Keeping its old place
    would have meant keeping marks for every write to its series as long as it lies failed.)"""
    now = timezone.now()
    with transaction.atomic():
        failed = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk, status=Status.FAILED)
            .only("seq", "series_ids")
            .first()
        )
        if failed is None:
            return False
        _release(failed.seq, failed.series_ids)  # normally released when it failed
        existing = list(Series.objects.filter(pk__in=failed.series_ids).values_list("pk", flat=True))
        ImportJob.objects.filter(pk=job.pk).update(
            status=Status.QUEUED,
            attempts=0,
            error="",
            finished_at=None,
            enqueued_at=now,
            heartbeat_at=now,
            seq=write_accept(series_ids=existing),
        )
        transaction.on_commit(partial(_enqueue, job.pk))
    return True


def import_history_purge(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete what accepted imports leave behind once it is old: finished jobs (done or failed)
    IMPORT_JOB_RETENTION_DAYS after they finished (0 keeps them), and the Blynk per-device daily
    import counts IMPORT_QUOTA_DAYS_KEPT days after their day (the quota reads only today's).
    Queued and running jobs are never touched. Returns (jobs, daily counts) deleted."""
    now = now or timezone.now()
    jobs = 0
    if settings.IMPORT_JOB_RETENTION_DAYS > 0:
        cutoff = now - timedelta(days=settings.IMPORT_JOB_RETENTION_DAYS)
        jobs, _ = ImportJob.objects.filter(
            status__in=[Status.DONE, Status.FAILED], finished_at__lt=cutoff
        ).delete()
    day_cutoff = now.astimezone(UTC).date() - timedelta(days=settings.IMPORT_QUOTA_DAYS_KEPT)
    days, _ = DeviceImportDay.objects.filter(day__lt=day_cutoff).delete()
    return jobs, days
