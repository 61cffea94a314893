"""The store's write order (apps/timeseries/write_order.py): for each (series, ts) the stored value
is that of the latest-accepted write, whatever order earlier-accepted writes are applied in."""

import itertools

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.timeseries.models import PendingWrite, Series, WriteMark
from apps.timeseries.stats.buckets import TAG
from apps.timeseries.store import (
    Policy,
    SampleBatch,
    WriteResult,
    series_lock,
    write,
    write_accept,
    write_pending,
    write_release,
)
from tests.factories import SeriesFactory
from tests.timeseries.helpers import stored


def batch(series, ts, values):
    return SampleBatch([series.pk] * len(ts), ts, [float(v) for v in values])


def marks(series) -> list[tuple[int, int]]:
    return list(WriteMark.objects.filter(series=series).order_by("ts").values_list("ts", "seq"))


def pending_seq(series) -> int | None:
    return Series.objects.get(pk=series.pk).pending_seq


def values(series) -> list[tuple[int, float]]:
    return [(ts, value) for ts, value, _ in stored(series)]


def test_with_nothing_pending_a_write_touches_none_of_the_write_order_tables(series, other_series):
    accepted = write_accept(series_ids=[other_series.pk])  # pending elsewhere

    with CaptureQueriesContext(connection) as queries:
        result = write(batch(series, [1, 2, 3], [1, 2, 3]), Policy.OVERWRITE)

    assert result == WriteResult(written=3)
    statements = [q["sql"] for q in queries.captured_queries]
    assert not any(
        table in sql for sql in statements for table in ("writemark", "pendingwrite", "write_seq", "nextval")
    )
    store_statements = [sql for sql in statements if "timeseries_" in sql and TAG not in sql]
    assert len(store_statements) == 3  # lock (which reads the series' calendars), insert, latest sample
    statistics_statements = [sql for sql in statements if TAG in sql]
    # the newest sample (an append merges), then the quarter-hours and their days, each upserted
    assert len(statistics_statements) == 3
    assert write_pending() == {accepted: [other_series.pk]}


def test_accepting_marks_the_series_pending_with_the_lowest_number_until_released(series, other_series):
    first = write_accept(series_ids=[series.pk, other_series.pk, series.pk])
    second = write_accept(series_ids=[series.pk])

    assert first < second
    assert (pending_seq(series), pending_seq(other_series)) == (first, first)
    assert write_pending() == {first: sorted([series.pk, other_series.pk]), second: [series.pk]}

    write_release(seq=first, series_ids=[series.pk, other_series.pk])
    assert (pending_seq(series), pending_seq(other_series)) == (second, None)
    write_release(seq=first, series_ids=[series.pk, other_series.pk])  # twice: nothing more
    write_release(seq=second, series_ids=[series.pk])
    assert (pending_seq(series), write_pending()) == (None, {})


def test_an_overwrite_while_an_import_is_pending_marks_its_samples_with_a_later_number(series, other_series):
    job = write_accept(series_ids=[series.pk])

    write(SampleBatch([series.pk, series.pk, other_series.pk], [1, 2, 1], [1.0, 2.0, 3.0]), Policy.OVERWRITE)
    write(batch(series, [5], [5]), Policy.KEEP)

    (_, first), (_, second) = marks(series)
    assert first == second > job
    assert marks(other_series) == []  # nothing pending there
    assert [ts for ts, _ in marks(series)] == [1, 2]  # keep writes leave no marks


def test_a_job_leaves_alone_the_samples_a_later_accepted_write_has_set(series):
    job = write_accept(series_ids=[series.pk])
    write(batch(series, [2, 4], [20, 40]), Policy.OVERWRITE)

    result = write(batch(series, [1, 2, 3, 4], [1, 2, 3, 4]), Policy.OVERWRITE, seq=job)

    assert result == WriteResult(written=2, superseded=2)
    assert values(series) == [(1, 1.0), (2, 20.0), (3, 3.0), (4, 40.0)]
    write_release(seq=job, series_ids=[series.pk])
    assert (marks(series), pending_seq(series)) == ([], None)


def test_a_later_job_applied_first_marks_its_samples_for_the_older_one(series):
    older = write_accept(series_ids=[series.pk])
    newer = write_accept(series_ids=[series.pk])

    write(batch(series, [1, 2], [10, 20]), Policy.OVERWRITE, seq=newer)
    write_release(seq=newer, series_ids=[series.pk])
    assert marks(series) == [(1, newer), (2, newer)]  # still needed by the older job
    write(batch(series, [1, 2, 3], [1, 2, 3]), Policy.OVERWRITE, seq=older)
    write_release(seq=older, series_ids=[series.pk])

    assert values(series) == [(1, 10.0), (2, 20.0), (3, 3.0)]
    assert marks(series) == []


def test_the_oldest_job_applied_first_leaves_no_marks(series):
    older = write_accept(series_ids=[series.pk])
    write_accept(series_ids=[series.pk])

    write(batch(series, [1, 2], [1, 2]), Policy.OVERWRITE, seq=older)

    assert marks(series) == []


def test_releasing_keeps_the_marks_an_older_pending_job_still_needs(series):
    older = write_accept(series_ids=[series.pk])
    middle = write_accept(series_ids=[series.pk])
    write(batch(series, [1], [1]), Policy.OVERWRITE)  # marked later than both

    write_release(seq=middle, series_ids=[series.pk])
    assert len(marks(series)) == 1
    write_release(seq=older, series_ids=[series.pk])
    assert marks(series) == []


def test_deleting_a_series_deletes_its_pending_writes_and_marks(series, other_series):
    job = write_accept(series_ids=[series.pk, other_series.pk])
    write(SampleBatch([series.pk, other_series.pk], [1, 1], [1.0, 1.0]), Policy.OVERWRITE)
    deleted = series.pk

    with CaptureQueriesContext(connection) as queries:
        series.delete()

    assert not any("SELECT" in q["sql"] and "writemark" in q["sql"] for q in queries.captured_queries)

    assert list(PendingWrite.objects.values_list("series_id", "seq")) == [(other_series.pk, job)]
    assert list(WriteMark.objects.values_list("series_id", flat=True)) == [other_series.pk]
    write_release(seq=job, series_ids=[deleted, other_series.pk])  # the deleted one is skipped
    assert not WriteMark.objects.exists()


def test_accepting_refuses_an_unknown_series_and_marks_nothing(series):
    with pytest.raises(Exception, match="does not exist"), transaction.atomic():
        write_accept(series_ids=[series.pk, series.pk + 1000])

    assert write_pending() == {}
    assert pending_seq(series) is None


def test_a_large_job_chunk_is_checked_and_marked_exactly(series):
    n = 5_000
    older = write_accept(series_ids=[series.pk])
    newer = write_accept(series_ids=[series.pk])
    write(batch(series, range(0, n, 3), [-1] * len(range(0, n, 3))), Policy.OVERWRITE, seq=newer)

    result = write(batch(series, range(n), range(n)), Policy.OVERWRITE, seq=older)

    assert result.superseded == len(range(0, n, 3))
    assert values(series) == [(t, -1.0 if t % 3 == 0 else float(t)) for t in range(n)]


# --- the property: random interleavings ---------------------------------------------------------

SERIES = 3
STAMPS = 6


@st.composite
def histories(draw):
    """Accepted writes, in acceptance order, and the order their parts are applied in.

    Each write is (kind, points): kind "job" (applied later, in chunks), "overwrite" or "keep"
    (applied when accepted). `schedule` lists, after each acceptance, how many chunk
    applications happen and of which pending jobs (by position among those still pending)."""
    point = st.tuples(st.integers(0, SERIES - 1), st.integers(0, STAMPS - 1))
    writes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["job", "job", "overwrite", "keep"]),
                st.lists(point, min_size=1, max_size=8),
                st.integers(1, 4),  # a job's chunk size
            ),
            min_size=1,
            max_size=10,
        )
    )
    picks = draw(st.lists(st.integers(0, 100), min_size=len(writes) * 3 + 40, max_size=len(writes) * 3 + 40))
    return writes, picks


def expected_values(writes, counter) -> dict[tuple[int, int], float]:
    """The reference: every write applied once, whole, in acceptance order."""
    state: dict[tuple[int, int], float] = {}
    for index, (kind, points, _) in enumerate(writes):
        for position, key in enumerate(points):
            value = counter(index, position)
            if kind == "keep":
                state.setdefault(key, value)
            else:
                state[key] = value
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_whatever_the_interleaving_each_sample_holds_the_latest_accepted_value(org, history):
    writes, picks = history
    series = [SeriesFactory(organization=org) for _ in range(SERIES)]
    ids = [s.pk for s in series]
    picks = iter(picks)

    def value(index, position):
        return float(index * 100 + position)

    pending = []  # [seq, series ids, remaining chunks]

    def apply_one(job):
        seq, job_series, chunks = job
        part = chunks.pop(0)
        with transaction.atomic():
            if not chunks:
                series_lock(job_series)  # every series of the job first, as import_run does
            write(SampleBatch(*part), Policy.OVERWRITE, seq=seq)
            if not chunks:
                write_release(seq=seq, series_ids=job_series)
                pending.remove(job)

    for index, (kind, points, chunk) in enumerate(writes):
        sids = [ids[s] for s, _ in points]
        stamps = [t for _, t in points]
        numbers = [value(index, p) for p in range(len(points))]
        if kind == "job":
            with transaction.atomic():
                seq = write_accept(series_ids=sids)
            chunks = [
                (sids[i : i + chunk], stamps[i : i + chunk], numbers[i : i + chunk])
                for i in range(0, len(points), chunk)
            ]
            pending.append([seq, sorted(set(sids)), chunks])
        else:
            write(SampleBatch(sids, stamps, numbers), Policy(kind))
        for _ in range(next(picks, 0) % 3):
            if pending:
                apply_one(pending[next(picks, 0) % len(pending)])
    while pending:
        apply_one(pending[next(picks, 0) % len(pending)])

    want = expected_values(writes, value)
    got = {(ids.index(s.pk), ts): v for s in series for ts, v, _ in stored(s)}
    assert got == want
    assert not PendingWrite.objects.filter(series_id__in=ids).exists()
    assert not WriteMark.objects.filter(series_id__in=ids).exists()


def test_the_reference_model_is_acceptance_order():
    writes = [("job", [(0, 1)], 1), ("overwrite", [(0, 1)], 1), ("keep", [(0, 1), (0, 2)], 1)]

    assert expected_values(writes, lambda i, p: float(i * 100 + p)) == {(0, 1): 100.0, (0, 2): 201.0}


def test_acceptance_numbers_increase(db):
    taken = [write_accept(series_ids=[]) for _ in range(5)]

    assert all(b > a for a, b in itertools.pairwise(taken))
