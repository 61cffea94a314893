"""Write order across imports: for each (series, timestamp) the stored value is that of the
latest-accepted write, whatever order the jobs run in (docs/api.md, "Write order")."""

import pytest

from apps.imports.models import ImportJob
from apps.imports.services import import_retry, import_run, import_sweep
from apps.timeseries import store
from apps.timeseries.models import PendingWrite, Series, WriteMark
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory
from tests.timeseries.helpers import stored


@pytest.fixture
def meter(org):
    return SeriesFactory(organization=org, name="Meter", meter_code="m1")


def rows(values, start=1000, step=1000):
    return [(start + i * step, float(v)) for i, v in enumerate(values)]


def test_a_write_acknowledged_while_an_older_import_is_pending_is_not_undone_by_it(accept, series):
    job = accept([(series, rows([1, 2, 3, 4]))])

    write(SampleBatch([series.pk, series.pk], [2000, 4000], [20.0, 40.0]), Policy.OVERWRITE)
    import_run(job_id=job.pk)

    assert ImportJob.objects.get().status == "done"
    assert stored(series) == [(1000, 1.0, None), (2000, 20.0, None), (3000, 3.0, None), (4000, 40.0, None)]


def test_two_pending_imports_of_one_range_end_with_the_later_ones_values_in_either_run_order(
    accept, series, meter, settings
):
    settings.IMPORT_CHUNK_POINTS = 2
    first = accept([(series, rows([1, 2, 3])), (meter, rows([1]))])
    second = accept([(series, rows([10, 20, 30]))])

    import_run(job_id=second.pk)
    import_run(job_id=first.pk)

    assert stored(series) == [(1000, 10.0, None), (2000, 20.0, None), (3000, 30.0, None)]
    assert stored(meter) == [(1000, 1.0, None)]


def test_a_later_import_that_runs_first_then_an_older_one_resumed_midway_keeps_the_later_values(
    accept, series, settings
):
    settings.IMPORT_CHUNK_POINTS = 1
    first = accept([(series, rows([1, 2, 3, 4]))])
    second = accept([(series, rows([20, 30], start=2000))])
    third = accept([(series, rows([400], start=4000))])

    import_run(job_id=third.pk)
    import_run(job_id=second.pk)
    import_run(job_id=first.pk)

    assert stored(series) == [(1000, 1.0, None), (2000, 20.0, None), (3000, 30.0, None), (4000, 400.0, None)]


def test_a_keep_write_accepted_after_a_pending_import_is_replaced_by_it_as_in_acceptance_order(
    accept, series
):
    job = accept([(series, rows([1, 2]))])

    result = write(SampleBatch([series.pk, series.pk], [2000, 9000], [20.0, 90.0]), Policy.KEEP)
    import_run(job_id=job.pk)

    assert result.dropped == []  # nothing was stored at write time
    # In acceptance order: the import writes 2000 = 2, then the keep write finds it stored.
    assert stored(series) == [(1000, 1.0, None), (2000, 2.0, None), (9000, 90.0, None)]


def test_a_write_before_an_import_is_accepted_is_overwritten_by_it(accept, series):
    write(SampleBatch([series.pk], [2000], [20.0]), Policy.OVERWRITE)
    job = accept([(series, rows([1, 2]))])

    import_run(job_id=job.pk)

    assert stored(series) == [(1000, 1.0, None), (2000, 2.0, None)]


def test_once_no_import_is_pending_the_series_keeps_no_marks(accept, series, meter):
    first = accept([(series, rows([1, 2])), (meter, rows([1]))])
    second = accept([(series, rows([3]))])
    write(SampleBatch([series.pk, meter.pk], [2000, 1000], [20.0, 10.0]), Policy.OVERWRITE)
    assert WriteMark.objects.count() == 2

    import_run(job_id=second.pk)
    import_run(job_id=first.pk)

    assert stored(series) == [(1000, 3.0, None), (2000, 20.0, None)]
    assert stored(meter) == [(1000, 10.0, None)]
    assert not PendingWrite.objects.exists()
    assert not WriteMark.objects.exists()
    assert list(Series.objects.values_list("pending_seq", flat=True)) == [None, None]


def test_a_failed_import_is_no_longer_pending_and_its_retry_is_accepted_anew(
    accept, series, settings, django_capture_on_commit_callbacks
):
    job = accept([(series, rows([1, 2, 3]))])
    ImportJob.objects.update(status="running", attempts=settings.IMPORT_MAX_ATTEMPTS)
    assert import_run(job_id=job.pk) is None
    assert ImportJob.objects.get().status == "failed"
    assert not PendingWrite.objects.exists()

    write(SampleBatch([series.pk], [2000], [20.0]), Policy.OVERWRITE)  # before the retry
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert import_retry(job=job) is True
    write(SampleBatch([series.pk], [3000], [30.0]), Policy.OVERWRITE)  # after the retry
    for callback in callbacks:
        callback()

    assert ImportJob.objects.get().status == "done"
    assert stored(series) == [(1000, 1.0, None), (2000, 2.0, None), (3000, 30.0, None)]


def test_the_sweeper_forgets_the_pending_write_of_a_deleted_job(accept, series):
    job = accept([(series, rows([1]))])
    ImportJob.objects.filter(pk=job.pk).delete()

    import_sweep()

    assert not PendingWrite.objects.exists()
    assert Series.objects.get(pk=series.pk).pending_seq is None
    write(SampleBatch([series.pk], [1000], [5.0]), Policy.OVERWRITE)
    assert not WriteMark.objects.exists()
    assert store.write_pending() == {}
