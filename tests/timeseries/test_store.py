import math

import pytest
import time_machine

from apps.core.exceptions import Invalid, NotFound
from apps.timeseries import store
from apps.timeseries.models import Series
from apps.timeseries.retention import samples_expire
from apps.timeseries.selectors import series_current
from apps.timeseries.services import samples_delete
from apps.timeseries.store import Policy, SampleBatch, postgresql_copy, write
from tests.factories import SeriesFactory
from tests.timeseries.helpers import sample_count, stored

T0 = 1_494_880_000_000  # the ioTORQ example's first timestamp, in ms


def batch_of(series, ts, values, qualities=None):
    return SampleBatch(series_ids=[series.pk] * len(ts), ts=ts, values=values, qualities=qualities)


def test_overwrite_stores_new_samples_and_reports_them_written(series):
    result = write(batch_of(series, [T0, T0 + 60_000, T0 + 120_000], [1, 2, 3]), Policy.OVERWRITE)

    assert result == store.WriteResult(written=3, dropped=[])
    assert stored(series) == [(T0, 1.0, None), (T0 + 60_000, 2.0, None), (T0 + 120_000, 3.0, None)]


def test_overwrite_replaces_stored_value_and_quality(series):
    write(batch_of(series, [T0, T0 + 1], [1, 2], [0, 0]), Policy.OVERWRITE)

    result = write(batch_of(series, [T0 + 1], [20], [3]), Policy.OVERWRITE)

    assert result.written == 1
    assert stored(series) == [(T0, 1.0, 0), (T0 + 1, 20.0, 3)]


def test_overwrite_keeps_the_last_occurrence_within_one_batch(series):
    result = write(batch_of(series, [T0 + 5, T0, T0 + 5, T0, T0 + 5], [1, 2, 3, 4, 5]), Policy.OVERWRITE)

    assert result == store.WriteResult(written=2, dropped=[])
    assert stored(series) == [(T0, 4.0, None), (T0 + 5, 5.0, None)]


def test_keep_drops_later_duplicates_in_the_batch_and_reports_their_positions(series):
    # The Building X example: .333, .222, .333, .444
    ts = [T0 + 333, T0 + 222, T0 + 333, T0 + 444]

    result = write(batch_of(series, ts, [1, 2, 3, 4]), Policy.KEEP)

    assert result == store.WriteResult(written=3, dropped=[2])
    assert stored(series) == [(T0 + 222, 2.0, None), (T0 + 333, 1.0, None), (T0 + 444, 4.0, None)]


def test_keep_drops_everything_already_stored_and_leaves_it_unchanged(series):
    ts = [T0 + 333, T0 + 222, T0 + 333, T0 + 444]
    write(batch_of(series, ts, [1, 2, 3, 4]), Policy.KEEP)

    result = write(batch_of(series, ts, [9, 9, 9, 9], [1, 1, 1, 1]), Policy.KEEP)

    assert result == store.WriteResult(written=0, dropped=[0, 1, 2, 3])
    assert stored(series) == [(T0 + 222, 2.0, None), (T0 + 333, 1.0, None), (T0 + 444, 4.0, None)]


def test_write_keeps_milliseconds_exactly(series):
    write(batch_of(series, [1_494_880_000_123], [1.5]), Policy.OVERWRITE)

    assert stored(series) == [(1_494_880_000_123, 1.5, None)]


def test_write_updates_the_latest_sample_of_each_series(org):
    a, b = SeriesFactory(organization=org), SeriesFactory(organization=org)

    write(SampleBatch([a.pk, b.pk, a.pk], [T0 + 2, T0, T0 + 1], [10, 20, 30]), Policy.OVERWRITE)

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.last_ts, a.last_value) == (T0 + 2, 10.0)
    assert (b.last_ts, b.last_value) == (T0, 20.0)


def test_older_samples_leave_the_latest_sample_alone(series):
    write(batch_of(series, [T0 + 100], [5]), Policy.OVERWRITE)

    write(batch_of(series, [T0, T0 + 50], [1, 2]), Policy.OVERWRITE)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (T0 + 100, 5.0)


def test_overwriting_the_latest_sample_updates_the_latest_value(series):
    write(batch_of(series, [T0], [5]), Policy.OVERWRITE)

    write(batch_of(series, [T0], [6]), Policy.OVERWRITE)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (T0, 6.0)


def test_keep_leaves_the_latest_value_when_the_newest_sample_is_dropped(series):
    write(batch_of(series, [T0], [5]), Policy.KEEP)

    write(batch_of(series, [T0], [6]), Policy.KEEP)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (T0, 5.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_write_rejects_values_that_are_not_finite_and_stores_nothing(series, bad):
    with pytest.raises(Invalid) as excinfo:
        write(batch_of(series, [T0, T0 + 1], [1, bad]), Policy.OVERWRITE)

    assert (excinfo.value.field, excinfo.value.index) == ("value", 1)
    assert sample_count() == 0


def test_write_rejects_an_unknown_series_and_stores_nothing(series):
    with pytest.raises(NotFound):
        write(SampleBatch([series.pk, series.pk + 1000], [T0, T0], [1, 2]), Policy.OVERWRITE)

    assert sample_count() == 0
    series.refresh_from_db()
    assert series.last_ts is None


def test_write_rejects_arrays_of_different_lengths(series):
    with pytest.raises(Invalid):
        write(SampleBatch([series.pk], [T0, T0 + 1], [1, 2]), Policy.OVERWRITE)

    assert sample_count() == 0


def test_write_rejects_a_quality_outside_16_bits(series):
    with pytest.raises(Invalid) as excinfo:
        write(batch_of(series, [T0, T0 + 1], [1, 2], [0, 40_000]), Policy.OVERWRITE)

    assert excinfo.value.index == 1
    assert sample_count() == 0


@pytest.mark.parametrize("bad", [store.MIN_TS_MS - 1, store.MAX_TS_MS + 1, -(2**63), 2**63 - 1])
def test_write_rejects_a_timestamp_outside_years_1_to_9999_and_stores_nothing(series, bad):
    with pytest.raises(Invalid) as excinfo:
        write(batch_of(series, [T0, bad], [1, 2]), Policy.OVERWRITE)

    assert (excinfo.value.field, excinfo.value.index) == ("ts", 1)
    assert excinfo.value.message == "timestamp is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"
    assert sample_count() == 0
    series.refresh_from_db()
    assert series.last_ts is None


def test_write_accepts_the_first_and_the_last_instant_of_the_range(series):
    # 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z
    write(batch_of(series, [-62_135_596_800_000, 253_402_300_799_999], [1, 2]), Policy.KEEP)

    assert stored(series) == [(-62_135_596_800_000, 1.0, None), (253_402_300_799_999, 2.0, None)]


def test_an_empty_batch_writes_nothing(series):
    assert write(SampleBatch([], [], []), Policy.KEEP) == store.WriteResult(written=0, dropped=[])


@pytest.mark.parametrize("policy", [Policy.OVERWRITE, Policy.KEEP])
def test_large_batches_of_new_samples_are_stored_exactly(org, policy):
    a, b = SeriesFactory(organization=org), SeriesFactory(organization=org)
    n = postgresql_copy.SMALL_BATCH + 500
    ts = [T0 + i * 1000 for i in range(n)]
    qualities = [None if i % 3 else i % 7 for i in range(n)]

    result = write(
        SampleBatch([a.pk] * n + [b.pk] * n, ts + ts, [i / 4 for i in range(2 * n)], qualities + qualities),
        policy,
    )

    assert result == store.WriteResult(written=2 * n, dropped=[])
    assert stored(a) == [(ts[i], i / 4, qualities[i]) for i in range(n)]
    assert stored(b)[-1] == (ts[-1], (2 * n - 1) / 4, qualities[-1])


def test_large_overwrite_merges_with_stored_samples(series):
    n = postgresql_copy.SMALL_BATCH + 500
    write(batch_of(series, [T0 + i for i in range(0, n, 2)], [0.0] * len(range(0, n, 2))), Policy.OVERWRITE)

    # Unsorted, overlapping the stored samples, with a repeat whose last occurrence must win.
    ts = [T0 + i for i in reversed(range(n))] + [T0]
    result = write(batch_of(series, ts, [float(t - T0) for t in ts[:-1]] + [-1.0]), Policy.OVERWRITE)

    assert result == store.WriteResult(written=n, dropped=[])
    assert stored(series) == [(T0, -1.0, None)] + [(T0 + i, float(i), None) for i in range(1, n)]
    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (T0 + n - 1, float(n - 1))


def test_large_keep_reports_stored_and_repeated_positions(series):
    n = postgresql_copy.SMALL_BATCH + 500
    write(batch_of(series, [T0 + 7, T0 + 9], [70.0, 90.0]), Policy.OVERWRITE)
    ts = [T0 + i for i in range(n)] + [T0 + 3]

    result = write(batch_of(series, ts, [1.0] * (n + 1)), Policy.KEEP)

    assert result == store.WriteResult(written=n - 2, dropped=[7, 9, n])
    assert stored(series)[7:10] == [(T0 + 7, 70.0, None), (T0 + 8, 1.0, None), (T0 + 9, 90.0, None)]


def test_deleting_a_series_deletes_its_samples_in_the_database(org):
    doomed, kept = SeriesFactory(organization=org), SeriesFactory(organization=org)
    write(SampleBatch([doomed.pk, kept.pk], [T0, T0], [1, 2]), Policy.OVERWRITE)

    doomed.delete()

    assert sample_count() == 1
    assert stored(kept) == [(T0, 2.0, None)]


def test_deleting_an_organization_deletes_its_series_and_samples(org, other_org):
    mine, theirs = SeriesFactory(organization=org), SeriesFactory(organization=other_org)
    write(SampleBatch([mine.pk, theirs.pk], [T0, T0], [1, 2]), Policy.OVERWRITE)

    org.delete()

    assert sample_count() == 1
    assert stored(theirs) == [(T0, 2.0, None)]


def test_every_change_to_a_series_samples_bumps_its_revision(org):
    org.sample_retention_days = 1
    org.save()
    series = SeriesFactory(organization=org)
    now = 1_767_225_600_000

    def revision() -> int:
        series.refresh_from_db()
        return series.revision

    first = revision()
    write(SampleBatch([series.pk] * 3, [now - 2 * 86_400_000, now - 1, now], [1.0, 2.0, 3.0]), Policy.KEEP)
    after_write = revision()
    samples_delete(series_id=series.pk, start_ms=now, end_ms=now + 1)
    after_delete = revision()
    samples_expire(now_ms=now)
    after_expiry = revision()

    assert (first, after_write, after_delete, after_expiry) == (0, 1, 2, 3)


# --- samples dated later than the write ---------------------------------------------------------

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


def current(series, now_ms):
    """The series' current sample as every reader gets it (`selectors.series_current`)."""
    annotated = Series.objects.annotate(**series_current(now_ms=now_ms)).get(pk=series.pk)
    return annotated.current_ts, annotated.current_value


def test_a_sample_dated_later_is_stored_but_becomes_the_latest_only_when_its_time_comes(series):
    with time_machine.travel(NOW / 1000, tick=False):
        write(batch_of(series, [NOW - 1_000, NOW + 29 * DAY], [5, 999]), Policy.OVERWRITE)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value, series.next_ts) == (NOW - 1_000, 5.0, NOW + 29 * DAY)
    assert stored(series) == [(NOW - 1_000, 5.0, None), (NOW + 29 * DAY, 999.0, None)]
    assert current(series, NOW) == (NOW - 1_000, 5.0)
    assert current(series, NOW - 1_001) == (None, None)  # an instant before the row's sample
    assert current(series, NOW + 29 * DAY - 1) == (NOW - 1_000, 5.0)
    assert current(series, NOW + 29 * DAY) == (NOW + 29 * DAY, 999.0)


def test_a_write_after_a_future_sample_came_due_makes_it_the_latest(series):
    with time_machine.travel(NOW / 1000, tick=False):
        write(batch_of(series, [NOW, NOW + DAY, NOW + 2 * DAY], [1, 2, 3]), Policy.OVERWRITE)
    with time_machine.travel((NOW + DAY + 1) / 1000, tick=False):
        write(batch_of(series, [NOW - DAY], [0]), Policy.OVERWRITE)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value, series.next_ts) == (NOW + DAY, 2.0, NOW + 2 * DAY)


def test_a_series_with_only_future_samples_has_no_current_value_yet(series):
    with time_machine.travel(NOW / 1000, tick=False):
        write(batch_of(series, [NOW + DAY], [7]), Policy.OVERWRITE)

    series.refresh_from_db()
    assert (series.last_ts, series.last_value, series.next_ts) == (None, None, NOW + DAY)
    assert current(series, NOW) == (None, None)


def test_deleting_the_future_samples_forgets_them(series):
    with time_machine.travel(NOW / 1000, tick=False):
        write(batch_of(series, [NOW - 1, NOW + DAY], [1, 2]), Policy.OVERWRITE)
        samples_delete(series_id=series.pk, start_ms=NOW, end_ms=NOW + 2 * DAY)

    series.refresh_from_db()
    assert (series.last_ts, series.next_ts) == (NOW - 1, None)
