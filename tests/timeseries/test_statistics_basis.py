"""A change of what decides a series' statistics (its kind, interval end, site, its site's or
organization's time zone) recomputes them in the background (apps/timeseries/stats/basis.py)."""

from datetime import UTC, datetime

import pytest

from apps.core.uploads.reader import csv_decode, csv_records
from apps.inventory.config_csv import config_apply
from apps.timeseries import tasks
from apps.timeseries.models import Series
from apps.timeseries.stats.basis import series_statistics_refresh
from apps.timeseries.store import Policy, SampleBatch, write
from apps.timeseries.tasks import statistics_check_task
from tests.factories import OrganizationFactory, SeriesFactory, SignalFactory, SiteFactory
from tests.timeseries.statistics_reference import statistics_differences

pytestmark = pytest.mark.django_db

T0 = int(datetime(2024, 3, 30, 21, tzinfo=UTC).timestamp() * 1000)  # across Berlin's 23-hour day


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """The beat task run once, with the jobs it enqueues run when its transaction commits (the
    embedded Celery runs them in-process); returns how many series it enqueued."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return statistics_check_task()

    return run


def filled(series) -> Series:
    values = [100.0, 130.0, 131.0, 2.0, 9.0, 9.5, 40.0, 41.0]
    ts = [T0 + i * 3 * 3_600_000 for i in range(len(values))]  # 21 hours, 3 hours apart
    write(SampleBatch([series.pk] * len(ts), ts, values), Policy.OVERWRITE)
    return series


def agrees(series) -> bool:
    """The stored statistics are those of the series' kind and zone now, and it records them."""
    series.refresh_from_db()
    zone = series.site.time_zone if series.site else series.organization.time_zone
    problems = statistics_differences(
        series.pk, kind=series.kind, interval_end=series.interval_end, zone=zone
    )
    recorded = (series.statistics_kind, series.statistics_interval_end, series.statistics_zone)
    return (
        not problems
        and not series.statistics_pending
        and recorded == (series.kind, series.interval_end, zone)
    )


def settled(check, *series) -> None:
    """A new series' first check records what it is; afterwards nothing is stale."""
    check()
    assert all(agrees(s) for s in series)
    assert check() == 0


def test_a_new_series_without_samples_is_recorded_without_a_job(check):
    series = SeriesFactory(kind="counter")

    assert check() == 0

    assert agrees(series)


def test_a_kind_changed_anywhere_is_found_by_the_check_and_recomputed(check):
    series = filled(SeriesFactory(kind="measurement"))
    settled(check, series)

    Series.objects.filter(pk=series.pk).update(kind="counter")  # a shell, a migration, ...
    assert not agrees(series)

    assert check() == 1
    assert agrees(series)


def test_interval_end_changed_is_recomputed(check):
    series = filled(
        SeriesFactory(kind="interval", organization=OrganizationFactory(time_zone="Europe/Berlin"))
    )
    settled(check, series)

    Series.objects.filter(pk=series.pk).update(interval_end=True)

    assert check() == 1
    assert agrees(series)


def test_a_series_moved_to_a_site_of_another_zone_is_recomputed(check):
    series = filled(SeriesFactory(kind="counter"))
    settled(check, series)
    site = SiteFactory(organization=series.organization, time_zone="Asia/Kathmandu")

    series.site = site
    series.save()

    assert check() == 1
    assert agrees(series)


def test_a_sites_time_zone_changed_recomputes_its_series_only(check):
    site = SiteFactory(time_zone="Europe/Berlin")
    on_site = filled(SeriesFactory(kind="counter", organization=site.organization, site=site))
    elsewhere = filled(SeriesFactory(kind="counter", organization=site.organization))
    settled(check, on_site, elsewhere)

    site.time_zone = "Asia/Kathmandu"
    site.save()

    assert check() == 1
    assert agrees(on_site) and agrees(elsewhere)


def test_an_organizations_time_zone_changed_recomputes_the_series_without_a_site_of_their_own(check):
    organization = OrganizationFactory(time_zone="UTC")
    site = SiteFactory(organization=organization, time_zone="Europe/Berlin")
    plain = filled(SeriesFactory(kind="interval", organization=organization))
    on_site = filled(SeriesFactory(kind="interval", organization=organization, site=site))
    settled(check, plain, on_site)

    organization.time_zone = "Europe/Berlin"
    organization.save()

    assert check() == 1
    assert agrees(plain) and agrees(on_site)


def test_a_series_already_pending_is_left_to_its_job(check, django_capture_on_commit_callbacks):
    series = filled(SeriesFactory(kind="measurement"))
    settled(check, series)
    Series.objects.filter(pk=series.pk).update(kind="counter")

    with django_capture_on_commit_callbacks(execute=False) as jobs:
        series_statistics_refresh(series_ids=[series.pk])  # enqueued, not run yet
    series.refresh_from_db()
    assert series.statistics_pending

    assert check() == 0
    jobs[0]()
    assert agrees(series)


def test_the_series_admin_recomputes_after_a_kind_change(
    manager_client, org, django_capture_on_commit_callbacks
):
    series = filled(SeriesFactory(organization=org, kind="measurement", name="Meter"))
    series.statistics_kind, series.statistics_interval_end, series.statistics_zone = (
        "measurement",
        False,
        "UTC",
    )
    series.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            f"/admin/timeseries/series/{series.pk}/change/",
            {
                "organization": org.pk,
                "name": "Meter",
                "meter_code": "",
                "kind": "counter",
                "unit": "kWh",
                "site": "",
            },
        )

    assert response.status_code == 302
    assert agrees(series)


def test_the_bulk_configuration_recomputes_a_series_whose_kind_it_changes(
    org, django_capture_on_commit_callbacks
):
    signal = SignalFactory(load__device__organization=org, uid=3, series__kind="measurement")
    series = filled(signal.series)
    series.statistics_kind, series.statistics_interval_end, series.statistics_zone = (
        "measurement",
        False,
        "UTC",
    )
    series.save()
    table = (
        f"device_uid,load_uid,signal_uid,series_kind\n{signal.load.device.uid},{signal.load.uid},3,counter\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        config_apply(organization=org, records=list(csv_records(csv_decode(table.encode()))))

    assert agrees(series)


def test_the_check_runs_on_the_beat_schedule_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["statistics-check"]

    assert entry["task"] == statistics_check_task.name == "timeseries.statistics_check"
    assert entry["schedule"] == 60


def test_a_recomputation_that_fails_leaves_the_series_to_the_next_check(check, monkeypatch):
    series = filled(SeriesFactory(kind="measurement"))
    settled(check, series)
    Series.objects.filter(pk=series.pk).update(kind="counter")

    def broken(series_ids, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tasks, "statistics_rebuild", broken)
    assert check() == 1  # logged, not raised: the request that changed the kind succeeds
    series.refresh_from_db()
    assert not series.statistics_pending and not agrees(series)

    monkeypatch.undo()
    assert check() == 1
    assert agrees(series)
