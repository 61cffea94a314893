"""`manage.py statistics_rebuild`: the statistics recomputed from the samples, in batches."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.timeseries.models import DailyStatistics, QuarterHourStatistics
from apps.timeseries.stats import rebuild
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import OrganizationFactory, SeriesFactory
from tests.timeseries.statistics_reference import statistics_differences

pytestmark = pytest.mark.django_db

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def filled(series, values) -> None:
    write(
        SampleBatch([series.pk] * len(values), [T0 + i * 400_000 for i in range(len(values))], values),
        Policy.OVERWRITE,
    )


def statistics_lost() -> None:
    """The statistics tables emptied behind the store's back, as before they existed."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_stats_quarter")
        cursor.execute("DELETE FROM timeseries_stats_day")


def rebuild_command(*args) -> str:
    out = StringIO()
    call_command("statistics_rebuild", *args, stdout=out)
    return out.getvalue()


def differences(series) -> list[str]:
    return statistics_differences(series.pk, kind=series.kind, interval_end=series.interval_end, zone="UTC")


def test_every_series_is_recomputed_in_batches_with_progress(monkeypatch):
    monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 2)
    organization = OrganizationFactory()
    series = [
        SeriesFactory(organization=organization, kind=kind)
        for kind in ("counter", "interval", "measurement", "counter", "interval")
    ]
    for s in series:
        filled(s, [100.0, 120.0, 5.0, 9.0, 8.0, 30.0])
    statistics_lost()

    out = rebuild_command()

    assert out.splitlines() == [
        "2 of 5 series recomputed",
        "4 of 5 series recomputed",
        "5 of 5 series recomputed",
        "Statistics recomputed for 5 series.",
    ]
    assert all(differences(s) == [] for s in series)
    assert QuarterHourStatistics.objects.count() == 5 * 3
    assert DailyStatistics.objects.count() == 5


def test_an_organization_or_series_chosen_leaves_the_others_alone():
    mine, theirs = OrganizationFactory(slug="mine"), OrganizationFactory(slug="theirs")
    a, b = SeriesFactory(organization=mine, kind="counter"), SeriesFactory(organization=mine)
    c = SeriesFactory(organization=theirs, kind="interval")
    for s in (a, b, c):
        filled(s, [1.0, 2.0, 3.0])
    statistics_lost()

    assert rebuild_command("--organization", "mine").splitlines()[-1] == "Statistics recomputed for 2 series."
    assert differences(a) == differences(b) == []
    assert not QuarterHourStatistics.objects.filter(series=c).exists()

    rebuild_command("--series", str(c.pk))
    assert differences(c) == []


def test_a_rebuild_replaces_wrong_rows_and_removes_rows_without_samples():
    counter = SeriesFactory(kind="counter")
    filled(counter, [100.0, 110.0, 1.0])
    QuarterHourStatistics.objects.filter(series=counter).update(consumption=-1.0)
    stale = QuarterHourStatistics.objects.filter(series=counter).first()
    QuarterHourStatistics.objects.create(
        **{f.attname: getattr(stale, f.attname) for f in QuarterHourStatistics._meta.concrete_fields}
        | {"start": T0 - 10 * 900_000}
    )

    rebuild_command("--series", str(counter.pk))

    assert differences(counter) == []


def test_unknown_organizations_and_series_are_refused():
    organization = OrganizationFactory(slug="known")
    other = SeriesFactory()

    with pytest.raises(CommandError, match="No organization 'unknown'"):
        rebuild_command("--organization", "unknown")
    with pytest.raises(CommandError, match=f"No series {other.pk} in organization 'known'"):
        rebuild_command("--organization", organization.slug, "--series", str(other.pk))
