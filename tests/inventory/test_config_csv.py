"""Bulk configuration from CSV: devices, loads, signals and their series created or updated in one
step, with a preview, line-numbered errors and all-or-nothing writes."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.uploads.reader import csv_decode, csv_records
from apps.inventory import config_csv
from apps.inventory.config_csv import ConfigRejected, config_apply, config_plan, resolve, table
from apps.inventory.models import Device, Load, Signal
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from tests.factories import DeviceFactory, LoadFactory, SeriesFactory, SignalFactory, UserFactory

HEADER = (
    "device_uid,device_label,device_protocol,load_uid,load_label,signal_uid,signal_si,signal_unit,"
    "series_meter_code"
)
SITE = (
    f"{HEADER}\n"
    "1,Main meter,meterBus,2,Main,3,31,kW,main_power\n"
    "1,Main meter,meterBus,2,Main,4,32,var,main_reactive\n"
    "82,Sub meter,rtu,83,Sub,100,29,V,\n"
)
CONFIG = "/admin/inventory/device/import-csv/"


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    """Uploaded files are kept between preview and import; here in the test's own directory."""
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def records(text: str):
    return list(csv_records(csv_decode(text.encode())))


def errors_of(plan) -> list[tuple[int | None, str | None, str]]:
    return [(error.index, error.field, error.message) for error in plan.errors]


def test_a_table_creates_devices_loads_signals_and_their_series(org):
    plan = config_apply(organization=org, records=records(SITE))

    assert plan.counts == {
        "device": {"create": 2, "update": 0, "unchanged": 0},
        "load": {"create": 2, "update": 0, "unchanged": 0},
        "signal": {"create": 3, "update": 0, "unchanged": 0},
        "series": {"create": 3, "update": 0, "unchanged": 0},
    }
    assert list(Device.objects.filter(organization=org).values_list("uid", "label", "protocol")) == [
        (1, "Main meter", "meterBus"),
        (82, "Sub meter", "rtu"),
    ]
    assert list(
        Load.objects.filter(organization=org).values_list("uid", "device__uid", "label", "enable")
    ) == [
        (2, 1, "Main", True),
        (83, 82, "Sub", True),
    ]
    signals = Signal.objects.filter(organization=org).select_related("load", "series").order_by("uid")
    assert [(s.uid, s.load.uid, s.si, s.unit, s.series.meter_code, s.series.unit) for s in signals] == [
        (3, 2, 31, "kW", "main_power", "kW"),
        (4, 2, 32, "var", "main_reactive", "var"),
        (100, 83, 29, "V", None, "V"),
    ]
    assert signals[2].series.name == "Sub meter / Sub / signal 100"
    assert {s.series.organization_id for s in signals} == {org.pk}


def test_the_preview_writes_nothing(org):
    plan = config_plan(organization=org, records=records(SITE))

    assert plan.ok
    assert plan.rows == 3
    assert [c.label for c in plan.changes["signal"]] == ["signal 3", "signal 4", "signal 100"]
    assert not Device.objects.exists()
    assert not Series.objects.exists()


def test_applying_the_same_table_twice_changes_nothing_the_second_time(org):
    config_apply(organization=org, records=records(SITE))

    plan = config_apply(organization=org, records=records(SITE))

    assert {kind: counts["unchanged"] for kind, counts in plan.counts.items()} == {
        "device": 2,
        "load": 2,
        "signal": 3,
        "series": 3,
    }
    assert Series.objects.filter(organization=org).count() == 3


def test_existing_objects_are_updated_blank_cells_keep_their_values_and_signals_move(org):
    device = DeviceFactory(organization=org, uid=1, label="Old label", part_number="EM24")
    load = LoadFactory(device=device, uid=2, label="Main")
    other_load = LoadFactory(device=device, uid=5, label="Other")
    signal = SignalFactory(load=load, uid=3, si=31, unit="kW", series__meter_code="old_code")
    table = "device_uid,device_label,device_part_number,load_uid,signal_uid,signal_unit,series_meter_code\n"
    table += "1,New label,,5,3,W,new_code\n"

    plan = config_apply(organization=org, records=records(table))

    device.refresh_from_db()
    signal.refresh_from_db()
    assert (device.label, device.part_number) == ("New label", "EM24")
    assert (signal.load_id, signal.si, signal.unit) == (other_load.pk, 31, "W")
    assert signal.series.meter_code == "new_code"
    changes = {change.kind: change for change in plan.changes.values() for change in change}
    assert changes["device"].changes == [("label", "Old label", "New label")]
    assert changes["signal"].changes == [("unit", "kW", "W"), ("load", 2, 5)]
    assert changes["series"].changes == [("meter_code", "old_code", "new_code")]
    assert changes["load"].action == "unchanged"


def test_a_meter_code_may_move_between_two_series_of_the_table(org):
    load = LoadFactory(device=DeviceFactory(organization=org, uid=1), uid=2)
    a = SignalFactory(load=load, uid=3, series__meter_code="a")
    b = SignalFactory(load=load, uid=4, series__meter_code="b")

    config_apply(
        organization=org,
        records=records("device_uid,load_uid,signal_uid,series_meter_code\n1,2,3,b\n1,2,4,a\n"),
    )

    assert Series.objects.get(pk=a.series_id).meter_code == "b"
    assert Series.objects.get(pk=b.series_id).meter_code == "a"


def test_an_existing_signal_without_a_series_gets_one(org):
    signal = SignalFactory(
        load=LoadFactory(device=DeviceFactory(organization=org, uid=1), uid=2), uid=3, series=None
    )

    plan = config_apply(organization=org, records=records("device_uid,load_uid,signal_uid\n1,2,3\n"))

    signal.refresh_from_db()
    assert signal.series is not None
    assert plan.counts["signal"]["update"] == 1
    assert plan.counts["series"]["create"] == 1


def test_every_error_names_its_line_and_column_and_nothing_is_written(org, other_org):
    taken = SeriesFactory(organization=org, meter_code="taken", name="Taken")
    SeriesFactory(organization=other_org, meter_code="elsewhere")  # another organization's: no conflict
    table = (
        "device_uid,device_label,load_uid,signal_uid,signal_si,signal_enable,series_meter_code\n"
        "1,Main,2,3,31,yes,elsewhere\n"
        "1,Other name,2,4,32,,\n"
        "x,Main,2,5,33,,\n"
        "1,Main,2,3,31,,\n"
        "1,Main,2,6,,,\n"
        "1,Main,2,7,34,maybe,\n"
        "1,Main,2,8,35,,taken\n"
        "1,Main,2,9,36,,elsewhere\n"
        "1,Main,-1,10,37,,\n"
    )

    plan = config_plan(organization=org, records=records(table))

    assert errors_of(plan) == [
        (3, "device_label", "Device 1 has label 'Other name' here but 'Main' on line 2."),
        (4, "device_uid", "'x': expected a whole number from 0 to 2,147,483,647."),
        (5, "signal_uid", "Signal 3 is listed twice (first on line 2)."),
        (7, "signal_enable", "'maybe': expected true or false."),
        (10, "load_uid", "'-1': expected a whole number from 0 to 2,147,483,647."),
    ]
    with pytest.raises(ConfigRejected):
        config_apply(organization=org, records=records(table))
    assert not Device.objects.exists()

    # Once the rows agree, what the database says is checked.
    table = "\n".join(line for i, line in enumerate(table.splitlines()) if i in (0, 1, 5, 7, 8)) + "\n"
    plan = config_plan(organization=org, records=records(table))

    assert errors_of(plan) == [
        (3, "signal_si", "signal_si is required for the new signal 6."),
        (4, "series_meter_code", f"Meter code 'taken' belongs to another series: 'Taken' (id {taken.pk})."),
        (5, "series_meter_code", "Meter code 'elsewhere' is given to two signals (first on line 2)."),
    ]
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("device_uid,load_uid", "Missing column: signal_uid."),
        ("device_uid,load_uid,signal_uid,colour", "Unknown column 'colour'; the columns are device_uid,"),
        ("device_uid,load_uid,signal_uid,load_uid", "Column 'load_uid' appears twice (columns 2 and 4)."),
    ],
)
def test_a_bad_header_is_an_error_on_its_line(org, header, message):
    plan = config_plan(organization=org, records=records(f"{header}\n1,2,3\n"))

    assert plan.errors[0].index == 1
    assert plan.errors[0].message.startswith(message)


def test_uids_are_per_organization(org, other_org):
    theirs = DeviceFactory(organization=other_org, uid=1, label="Theirs")

    config_apply(organization=org, records=records(SITE))

    theirs.refresh_from_db()
    assert theirs.label == "Theirs"
    assert Device.objects.filter(organization=org, uid=1).get().label == "Main meter"


def test_hundreds_of_signals_take_a_bounded_number_of_queries(org):
    rows = [f"{1 + i // 100},Device,{1000 + i // 10},Load,{5000 + i},{i % 40},kW,code{i}" for i in range(300)]
    table = "device_uid,device_label,load_uid,load_label,signal_uid,signal_si,signal_unit,series_meter_code\n"

    with CaptureQueriesContext(connection) as queries:
        plan = config_apply(organization=org, records=records(table + "\n".join(rows) + "\n"))

    assert plan.counts["signal"]["create"] == 300
    assert Series.objects.filter(organization=org, meter_code__startswith="code").count() == 300
    assert len(queries) <= 20, [q["sql"][:80] for q in queries.captured_queries]


# --- the page -------------------------------------------------------------------------------------


def test_the_page_previews_and_then_applies_the_table(manager_client, org):
    response = manager_client.post(
        CONFIG, {"file": SimpleUploadedFile("site.csv", SITE.encode()), "preview": "1"}
    )

    assert response.status_code == 200
    assert response.context["plan"].ok
    text = response.content.decode()
    assert 'id="apply-button"' in text
    assert '<td class="ems-number" data-action="create">3</td>' in text
    assert not Device.objects.exists()

    token = response.context["staged"].token
    response = manager_client.post(CONFIG, {"upload": token, "apply": "Apply"})

    assert response.status_code == 302
    assert response["Location"] == f"/admin/inventory/device/?organization__id__exact={org.pk}"
    assert Signal.objects.filter(organization=org).count() == 3


def test_the_page_lists_errors_by_line_and_offers_no_apply(manager_client):
    table = "device_uid,load_uid,signal_uid,signal_si\n1,2,3,31\n1,2,3,31\n"

    response = manager_client.post(CONFIG, {"file": SimpleUploadedFile("site.csv", table.encode())})

    text = response.content.decode()
    assert "<strong>Line 3</strong> (signal_uid): Signal 3 is listed twice (first on line 2)." in text
    assert 'id="apply-button"' not in text


def test_bulk_configuration_needs_the_inventory_permissions(client, org):
    viewer = UserFactory(is_staff=True)
    membership_grant(user=viewer, organization=org, role_slugs=[])
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_device", "change_device"]))
    client.force_login(viewer)

    assert client.get(CONFIG).status_code == 403


# --- size: the limits the form states, streamed reading, chunked writes ----------------------------


def test_a_table_longer_than_the_row_limit_is_refused_on_the_first_row_past_it(org, monkeypatch):
    monkeypatch.setattr(table, "MAX_ROWS", 2)

    plan = config_plan(organization=org, records=records(SITE))

    assert errors_of(plan) == [
        (
            4,
            None,
            "The file holds more than 2 rows, the most one file may hold: split it into files of at most "
            "that many and apply them one after the other.",
        )
    ]
    with pytest.raises(ConfigRejected):
        config_apply(organization=org, records=records(SITE))
    assert not Device.objects.exists()


def test_the_page_states_the_limits_and_refuses_a_larger_file_before_reading_it(manager_client, monkeypatch):
    monkeypatch.setattr(config_csv, "MAX_BYTES", 100)

    page = manager_client.get(CONFIG)
    response = manager_client.post(CONFIG, {"file": SimpleUploadedFile("site.csv", SITE.encode())})

    assert "Files up to 100 bytes and 50,000 rows" in page.content.decode()
    assert response.context["form"].errors["file"] == [
        f"The file is larger than 100 bytes ({len(SITE)} bytes)."
    ]
    assert response.context["plan"] is None
    assert not Device.objects.exists()


def test_the_preview_lists_the_first_changes_of_each_kind_and_counts_them_all(manager_client, monkeypatch):
    monkeypatch.setattr(table, "SHOWN", 2)

    response = manager_client.post(CONFIG, {"file": SimpleUploadedFile("site.csv", SITE.encode())})

    plan = response.context["plan"]
    assert [change.label for change in plan.changes["signal"]] == ["signal 3", "signal 4"]
    assert plan.counts["signal"]["create"] == 3
    assert [(kind, more) for kind, _, more in plan.sections] == [
        ("device", 0),
        ("load", 0),
        ("signal", 1),
        ("series", 1),
    ]
    assert '<p class="help">… and 1 more.</p>' in response.content.decode()


def test_chunks_write_parents_first_and_codes_move_between_chunks(org, monkeypatch):
    monkeypatch.setattr(resolve, "CHUNK", 2)
    load = LoadFactory(device=DeviceFactory(organization=org, uid=1), uid=2)
    a = SignalFactory(load=load, uid=3, series__meter_code="a")
    b = SignalFactory(load=load, uid=9, series__meter_code="b")
    table_text = "device_uid,load_uid,load_label,signal_uid,signal_si,series_meter_code\n"
    table_text += "1,2,,3,,b\n"  # chunk 1: a's series takes b's code ...
    table_text += "5,6,Six,4,41,c\n"
    table_text += "7,8,Eight,5,51,\n"  # chunk 2: a device and load created in the second chunk
    table_text += "1,2,,9,,a\n"  # ... and b's series takes a's code, two chunks later

    plan = config_apply(organization=org, records=records(table_text))

    assert plan.counts["device"] == {"create": 2, "update": 0, "unchanged": 1}
    assert Series.objects.get(pk=a.series_id).meter_code == "b"
    assert Series.objects.get(pk=b.series_id).meter_code == "a"
    signals = Signal.objects.filter(organization=org).select_related("load__device", "series").order_by("uid")
    assert [(s.uid, s.load.uid, s.load.device.uid, s.series.meter_code) for s in signals] == [
        (3, 2, 1, "b"),
        (4, 6, 5, "c"),
        (5, 8, 7, None),
        (9, 2, 1, "a"),
    ]
    assert signals[2].series.name == "Device 7 / Eight / signal 5"


def test_apply_validates_again_and_shows_what_changed_since_the_preview(manager_client, org):
    preview = manager_client.post(CONFIG, {"file": SimpleUploadedFile("site.csv", SITE.encode())})
    taken = SeriesFactory(organization=org, meter_code="main_power", name="Taken meanwhile")

    response = manager_client.post(CONFIG, {"upload": preview.context["staged"].token, "apply": "Apply"})

    assert response.status_code == 200
    assert errors_of(response.context["plan"]) == [
        (
            2,
            "series_meter_code",
            f"Meter code 'main_power' belongs to another series: 'Taken meanwhile' (id {taken.pk}).",
        )
    ]
    assert 'id="apply-button"' not in response.content.decode()
    assert not Device.objects.exists()
