from apps.timeseries.retention import DAY_MS, samples_expire
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory
from tests.timeseries.helpers import stored

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_samples_older_than_the_organizations_retention_go_in_batches(org, other_org):
    org.sample_retention_days = 10
    org.save()
    mine, theirs = SeriesFactory(organization=org), SeriesFactory(organization=other_org)
    ts = [NOW - 12 * DAY_MS + i for i in range(7)] + [NOW - 10 * DAY_MS, NOW - DAY_MS]
    for series in (mine, theirs):
        write(SampleBatch([series.pk] * len(ts), ts, [float(i) for i in range(len(ts))]), Policy.OVERWRITE)

    deleted = samples_expire(now_ms=NOW, batch_size=3)

    assert deleted == 7
    assert [t for t, _, _ in stored(mine)] == [NOW - 10 * DAY_MS, NOW - DAY_MS]
    assert len(stored(theirs)) == len(ts)  # retention 0: kept forever


def test_expiring_every_sample_clears_the_latest_sample(org):
    org.sample_retention_days = 1
    org.save()
    series = SeriesFactory(organization=org)
    write(SampleBatch([series.pk], [NOW - 2 * DAY_MS], [5.0]), Policy.OVERWRITE)

    assert samples_expire(now_ms=NOW) == 1

    series.refresh_from_db()
    assert (series.last_ts, series.last_value) == (None, None)


def test_the_default_retention_applies_to_organizations_without_their_own(org, settings):
    settings.EMS_SAMPLE_RETENTION_DAYS = 5
    series = SeriesFactory(organization=org)
    write(SampleBatch([series.pk] * 2, [NOW - 6 * DAY_MS, NOW - 4 * DAY_MS], [1.0, 2.0]), Policy.OVERWRITE)

    assert samples_expire(now_ms=NOW) == 1
    assert stored(series) == [(NOW - 4 * DAY_MS, 2.0, None)]
