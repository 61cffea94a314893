"""Bulk configuration columns of issue #14: what a series measures (`series_kind`, `series_unit`,
`series_interval_end`) and the device's site (`device_site`, by name)."""

import pytest

from apps.core.uploads.reader import csv_decode, csv_records
from apps.inventory.config_csv import ConfigRejected, config_apply, config_plan
from apps.inventory.models import Device, Signal
from apps.tenancy.models import Site
from apps.timeseries.models import Series
from tests.factories import SeriesFactory, SignalFactory

pytestmark = pytest.mark.django_db

HEADER = "device_uid,device_site,load_uid,signal_uid,signal_si,signal_unit,series_kind,series_unit"


def records(text: str):
    return list(csv_records(csv_decode(text.encode())))


def errors_of(plan) -> list[tuple[int | None, str | None, str]]:
    return [(error.index, error.field, error.message) for error in plan.errors]


def series_of(org, uid: int) -> Series:
    return Signal.objects.select_related("series").get(organization=org, uid=uid).series


def test_new_series_take_the_tables_kind_and_unit_and_their_devices_site(org):
    site = Site.objects.create(organization=org, name="Plant A", time_zone="Europe/Rome")
    table = (
        f"{HEADER}\n"
        "1,Plant A,2,3,31,kWh,counter,\n"  # no series_unit: the signal's
        "1,Plant A,2,4,32,,interval,kWh\n"
        "1,Plant A,2,5,29,V,,\n"  # no kind: a measurement
    )

    config_apply(organization=org, records=records(table))

    assert Device.objects.get(organization=org, uid=1).site == site
    assert [(series_of(org, uid).kind, series_of(org, uid).unit) for uid in (3, 4, 5)] == [
        ("counter", "kWh"),
        ("interval", "kWh"),
        ("measurement", "V"),
    ]
    assert {series_of(org, uid).site_id for uid in (3, 4, 5)} == {site.pk}


def test_a_table_changes_an_existing_series_kind_unit_and_interval_end(org):
    signal = SignalFactory(load__device__organization=org, uid=3, series__unit="kW")
    table = (
        "device_uid,load_uid,signal_uid,series_kind,series_unit,series_interval_end\n"
        f"{signal.load.device.uid},{signal.load.uid},3,interval,Wh m³,yes\n"
    )

    plan = config_plan(organization=org, records=records(table))
    assert plan.counts["series"] == {"create": 0, "update": 1, "unchanged": 0}
    assert plan.changes["series"][0].changes == [
        ("kind", "measurement", "interval"),
        ("unit", "kW", "Wh m³"),
        ("interval_end", False, True),
    ]
    config_apply(organization=org, records=records(table))

    series = series_of(org, 3)
    assert (series.kind, series.unit, series.interval_end) == ("interval", "Wh m³", True)


def test_an_unknown_kind_is_an_error_of_its_line_and_nothing_is_written(org):
    table = f"{HEADER}\n1,,2,3,31,kWh,counter,\n1,,2,4,32,kWh,cumulative,\n"

    plan = config_plan(organization=org, records=records(table))

    assert errors_of(plan) == [
        (3, "series_kind", "'cumulative': expected one of measurement, counter, interval."),
    ]
    with pytest.raises(ConfigRejected):
        config_apply(organization=org, records=records(table))
    assert not Device.objects.exists()
    assert not Series.objects.exists()


def test_a_site_name_must_be_one_of_the_organizations_sites(org, other_org):
    Site.objects.create(organization=other_org, name="Their plant")
    table = f"{HEADER}\n1,Their plant,2,3,31,kWh,,\n"

    plan = config_plan(organization=org, records=records(table))

    assert errors_of(plan) == [(2, "device_site", "No site is named 'Their plant' in the organization.")]
    with pytest.raises(ConfigRejected):
        config_apply(organization=org, records=records(table))
    assert not Device.objects.exists()


def test_moving_a_device_to_a_site_is_shown_by_name_and_leaves_existing_series_where_they_are(org):
    old, new = (Site.objects.create(organization=org, name=name) for name in ("Old", "New"))
    signal = SignalFactory(load__device__organization=org, load__device__site=old, uid=3)
    SeriesFactory(organization=org)  # an unrelated series
    device = signal.load.device
    table = f"device_uid,device_site,load_uid,signal_uid\n{device.uid},New,{signal.load.uid},3\n"

    plan = config_apply(organization=org, records=records(table))

    assert plan.changes["device"][0].changes == [("site", "Old", "New")]
    device.refresh_from_db()
    assert device.site == new
    assert series_of(org, 3).site_id is None  # a site is given to series when they are created
