"""Import jobs: accept, run (idempotent, resumable), sweep, retry."""

from datetime import timedelta

import numpy as np
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.core.exceptions import Invalid
from apps.imports import payload
from apps.imports.models import ImportJob
from apps.imports.services import (
    ImportPoints,
    ImportRejected,
    VariableRef,
    import_accept,
    import_history_purge,
    import_retry,
    import_run,
    import_sweep,
)
from apps.imports.tasks import import_purge_task, import_run_task, import_sweep_task
from apps.inventory.models import DeviceImportDay
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import DeviceFactory, SeriesFactory
from tests.timeseries.helpers import stored


@pytest.fixture
def meter(org):
    return SeriesFactory(organization=org, name="Meter", meter_code="m1")


def test_accepting_stores_the_job_and_its_points_before_anything_runs(accept, series, meter, user):
    job = accept([(series, [(1000, 1.5), (2000, 2.5)]), (meter, [(1000, 7.0)])])

    job.refresh_from_db()
    assert (job.status, job.points, job.variables, job.written, job.attempts) == ("queued", 3, 2, 0, 0)
    assert (job.user, job.dialect, job.series_ids) == (user, "iotorq", sorted([series.pk, meter.pk]))
    points = payload.unpack(bytes(job.payload))
    assert points.series_ids.tolist() == [series.pk, series.pk, meter.pk]
    assert points.ts.tolist() == [1000, 2000, 1000]
    assert points.values.tolist() == [1.5, 2.5, 7.0]
    assert job.payload_bytes == len(bytes(job.payload))
    assert stored(series) == []


def test_accepting_refuses_variables_unknown_in_the_organization(org, user, other_org, series):
    foreign = SeriesFactory(organization=other_org, meter_code="m1")
    points = ImportPoints(
        variables=[
            VariableRef(meter_code="main"),
            VariableRef(meter_code="m1"),
            VariableRef(series_id=foreign.pk),
        ],
        lengths=np.asarray([1, 1, 1]),
        ts=np.asarray([1, 1, 1]),
        values=np.asarray([1.0, 1.0, 1.0]),
    )

    with pytest.raises(ImportRejected) as caught:
        import_accept(organization=org, user=user, dialect="iotorq", points=points)

    assert [(e.index, e.field, e.message) for e in caught.value.errors] == [
        (1, "variable", "No variable with meter code 'm1' exists."),
        (2, "variable", f"No variable with id {foreign.pk} exists."),
    ]
    assert not ImportJob.objects.exists()


def test_a_run_writes_every_point_with_overwrite_and_marks_the_job_done(accept, series):
    write(SampleBatch([series.pk], [2000], [99.0]), Policy.KEEP)
    job = accept([(series, [(1000, 1.0), (2000, 2.0), (1000, 3.0)])])

    import_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.written, job.attempts, job.error) == ("done", 3, 1, "")
    assert job.started_at <= job.finished_at
    assert stored(series) == [(1000, 3.0, None), (2000, 2.0, None)]
    assert job.payload is None  # released once done; its size stays on record
    assert job.payload_bytes > 0


def test_running_a_done_job_again_changes_nothing(accept, series):
    job = accept([(series, [(1000, 1.0)])])
    import_run(job_id=job.pk)
    write(SampleBatch([series.pk], [1000], [5.0]), Policy.OVERWRITE)  # a later import

    assert import_run(job_id=job.pk) is None

    assert stored(series) == [(1000, 5.0, None)]
    assert ImportJob.objects.get().attempts == 1


def test_running_an_unknown_job_does_nothing(db):
    assert import_run(job_id="00000000-0000-0000-0000-000000000000") is None


class WorkerKilled(BaseException):
    """What a killed process looks like from inside: nothing after it runs."""


def test_a_run_killed_midway_is_finished_by_the_next_with_exactly_the_accepted_points(
    accept, series, meter, settings
):
    settings.IMPORT_CHUNK_POINTS = 2
    write(SampleBatch([series.pk] * 2, [1000, 5000], [-1.0, -5.0]), Policy.OVERWRITE)  # stored before
    rows = [(1000, 1.0), (2000, 2.0), (3000, 3.0), (2000, 4.0), (5000, 5.0)]  # 2000 repeats: last wins
    job = accept([(series, rows), (meter, [(1000, 6.0)])])
    inserts = []

    def die_on_second_chunk(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO timeseries_sample"):
            inserts.append(sql)
            if len(inserts) == 2:
                raise WorkerKilled
        return execute(sql, params, many, context)

    with pytest.raises(WorkerKilled), connection.execute_wrapper(die_on_second_chunk):
        import_run_task.delay(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.written, job.attempts) == ("running", 2, 1)
    assert stored(series) == [(1000, 1.0, None), (2000, 2.0, None), (5000, -5.0, None)]

    import_run_task.delay(str(job.pk))  # the redelivered message

    job.refresh_from_db()
    assert (job.status, job.written, job.attempts) == ("done", 6, 2)
    assert stored(series) == [(1000, 1.0, None), (2000, 4.0, None), (3000, 3.0, None), (5000, 5.0, None)]
    assert stored(meter) == [(1000, 6.0, None)]


def test_a_run_that_dies_before_any_chunk_commits_leaves_nothing_behind(accept, series):
    job = accept([(series, [(1000, 1.0), (2000, 2.0)])])

    def die(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO timeseries_sample"):
            raise WorkerKilled
        return execute(sql, params, many, context)

    with pytest.raises(WorkerKilled), connection.execute_wrapper(die):
        import_run(job_id=job.pk)

    assert stored(series) == []
    assert ImportJob.objects.get().written == 0


def test_a_variable_deleted_before_the_run_fails_the_job_with_the_reason(accept, series, meter):
    job = accept([(meter, [(1000, 1.0)]), (series, [(1000, 2.0)])])
    meter_id = meter.pk
    meter.delete()

    import_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", f"series {meter_id} does not exist")
    assert job.finished_at is not None
    assert stored(series) == []
    assert len(payload.unpack(bytes(job.payload))) == 2  # kept for a retry


def test_a_job_whose_runs_keep_dying_fails_after_the_attempt_limit(accept, series):
    job = accept([(series, [(1000, 1.0)])])
    ImportJob.objects.update(status="running", attempts=settings.IMPORT_MAX_ATTEMPTS)

    assert import_run(job_id=job.pk) is None

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == f"Gave up after {settings.IMPORT_MAX_ATTEMPTS} attempts that did not finish."
    assert stored(series) == []


# --- the sweeper -------------------------------------------------------------------------------


def stuck_after() -> timedelta:
    return timedelta(seconds=settings.IMPORT_STUCK_AFTER_SECONDS + 1)


def test_the_sweeper_reenqueues_a_job_whose_message_was_lost(
    accept, series, django_capture_on_commit_callbacks
):
    job = accept([(series, [(1000, 1.0)])], run=False)

    with (
        time_machine.travel(timezone.now() + stuck_after(), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        import_sweep_task.delay()

    job.refresh_from_db()
    assert (job.status, job.written) == ("done", 1)
    assert stored(series) == [(1000, 1.0, None)]


def test_the_sweeper_reenqueues_running_jobs_that_stopped_moving(
    accept, series, django_capture_on_commit_callbacks
):
    stale = accept([(series, [(1000, 1.0)])])
    ImportJob.objects.filter(pk=stale.pk).update(status="running", attempts=1)
    later = timezone.now() + stuck_after()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        swept = import_sweep(now=later)

    assert swept == [stale.pk]
    assert [getattr(c, "func", c).__name__ for c in callbacks] == ["_enqueue", "_after_import"]
    stale.refresh_from_db()
    assert (stale.status, stale.attempts) == ("done", 2)


def test_the_sweeper_leaves_fresh_and_finished_jobs_alone(accept, series, django_capture_on_commit_callbacks):
    fresh = accept([(series, [(1000, 1.0)])])
    done = accept([(series, [(2000, 1.0)])])
    failed = accept([(series, [(3000, 1.0)])])
    ImportJob.objects.filter(pk=done.pk).update(status="done")
    ImportJob.objects.filter(pk=failed.pk).update(status="failed")
    old = timezone.now() - stuck_after()
    ImportJob.objects.filter(pk__in=[done.pk, failed.pk]).update(heartbeat_at=old)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert import_sweep() == []

    assert callbacks == []
    assert ImportJob.objects.get(pk=fresh.pk).status == "queued"


def test_a_swept_job_is_not_swept_again_until_it_is_stuck_again(
    accept, series, django_capture_on_commit_callbacks
):
    job = accept([(series, [(1000, 1.0)])])
    later = timezone.now() + stuck_after()

    with django_capture_on_commit_callbacks(execute=False):
        first = import_sweep(now=later)
        second = import_sweep(now=later + timedelta(seconds=1))

    assert (first, second) == ([job.pk], [])


def test_the_sweep_runs_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["imports-sweep"]

    assert entry["task"] == import_sweep_task.name == "imports.sweep"
    assert 0 < entry["schedule"] < settings.IMPORT_STUCK_AFTER_SECONDS


# --- retry -------------------------------------------------------------------------------------


def test_a_failed_job_can_be_retried_and_resumes(accept, series, django_capture_on_commit_callbacks):
    job = accept([(series, [(1000, 1.0)])])
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="boom", attempts=5)

    with django_capture_on_commit_callbacks(execute=True):
        assert import_retry(job=job) is True

    job.refresh_from_db()
    assert (job.status, job.error, job.attempts, job.written) == ("done", "", 1, 1)


def test_only_failed_jobs_are_retried(accept, series, django_capture_on_commit_callbacks):
    job = accept([(series, [(1000, 1.0)])], run=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert import_retry(job=job) is False

    assert callbacks == []


# --- the packed payload ------------------------------------------------------------------------


def test_the_payload_round_trips_exactly_and_in_order():
    rng = np.random.default_rng(7)
    points = payload.Points(
        series_ids=np.repeat(np.asarray([5, 3, 5, 9], dtype=np.int64), [4, 1, 2, 3]),
        ts=rng.integers(0, 253_402_300_799_999, 10, dtype=np.int64),
        values=np.concatenate([rng.standard_normal(8), [-0.0, 1e-310]]),
    )

    back = payload.unpack(payload.pack(points))

    assert back.series_ids.tolist() == points.series_ids.tolist()
    assert back.ts.tolist() == points.ts.tolist()
    assert back.values.tobytes() == points.values.tobytes()


def test_an_empty_payload_round_trips():
    empty = payload.Points(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))

    assert len(payload.unpack(payload.pack(empty))) == 0


@pytest.mark.parametrize("data", [b"x" * 40, payload.pack(payload.Points([1], [1], [1.0]))[:-1]])
def test_a_damaged_payload_is_refused(data):
    with pytest.raises(ValueError):
        payload.unpack(data)


def test_rejections_are_invalid_errors():
    assert issubclass(ImportRejected, Invalid)


@pytest.mark.django_db
def test_payloads_are_stored_uncompressed_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute"
            " WHERE attrelid = 'imports_importjob'::regclass AND attname = 'payload'"
        )
        assert cursor.fetchone() == ("e",)  # EXTERNAL: out of line, never pglz-compressed


# --- purge -------------------------------------------------------------------------------------


def test_finished_jobs_and_old_daily_counts_are_purged_after_their_retention(accept, series, settings):
    settings.IMPORT_JOB_RETENTION_DAYS, settings.IMPORT_QUOTA_DAYS_KEPT = 90, 31
    done, failed, waiting = (accept([(series, [(1000 + i, 1.0)])]) for i in range(3))
    import_run(job_id=done.pk)
    ImportJob.objects.filter(pk=failed.pk).update(status="failed", finished_at=timezone.now())
    device = DeviceFactory(organization=series.organization)
    today = timezone.now().date()
    for age in (0, 31, 32):
        DeviceImportDay.objects.create(device=device, day=today - timedelta(days=age), points=5)
    before = ImportJob.objects.count()

    soon = import_history_purge(now=timezone.now() + timedelta(days=89))
    later = import_history_purge(now=timezone.now() + timedelta(days=91))

    assert (before, soon[0], later[0]) == (3, 0, 2)
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [waiting.pk]  # queued: never purged
    assert (soon[1], later[1]) == (3, 0)  # at +89 days every count is older than 31 days
    assert not DeviceImportDay.objects.exists()


def test_a_job_retention_of_zero_keeps_finished_jobs(accept, series, settings):
    settings.IMPORT_JOB_RETENTION_DAYS = 0
    job = accept([(series, [(1000, 1.0)])])
    import_run(job_id=job.pk)

    assert import_history_purge(now=timezone.now() + timedelta(days=10_000)) == (0, 0)
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_todays_and_recent_daily_counts_are_kept(series, settings):
    settings.IMPORT_QUOTA_DAYS_KEPT = 31
    device = DeviceFactory(organization=series.organization)
    today = timezone.now().date()
    for age in (0, 31, 32):
        DeviceImportDay.objects.create(device=device, day=today - timedelta(days=age), points=5)

    assert import_history_purge() == (0, 1)
    assert sorted((today - d).days for d in DeviceImportDay.objects.values_list("day", flat=True)) == [0, 31]


def test_the_purge_runs_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["imports-purge"]

    assert entry["task"] == import_purge_task.name == "imports.purge"
