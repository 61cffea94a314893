"""Devices, loads and signals in the vendor's shapes (the world data is the vendor's examples)."""

import pytest
from django.db.models import JSONField, Value

from apps.inventory.models import Device, Load

DEVICE_1 = {"uid": 1, "label": "Main meter", "partNumber": "EMS10AV5S1X", "system": "1P"}
DEVICE_59 = {"uid": 59, "label": "EM1", "partNumber": "EM24_E1", "system": "1P"}
LOAD_2 = {
    "uid": 2,
    "label": "Main",
    "enable": True,
    "index": 1,
    "type": 0,
    "did": 1,
    "meterBus": {
        "main": True,
        "system": 0,
        "ct": 10,
        "currentDirections": 0,
        "digitalInputMode": 0,
        "digitalOutputMode": 0,
        "digitalOutputModeNcNo": 0,
        "measureType": 0,
        "startUpCurrentRH": 10,
    },
}
SIGNAL_100 = {"uid": 100, "si": 29, "sir": 29, "enable": True, "lid": 83, "did": 82}
SIGNAL_101 = {"uid": 101, "si": 30, "sir": 30, "enable": True, "lid": 83, "did": 82}


def test_gateway_identity(api):
    assert api.get("/v1/sn").json() == {"sn": "EMS10AV5S1X0001"}
    assert api.get("/v1/mac").json() == {"mac": "00:1A:2B:3C:4D:5E"}


def test_devices_are_keyed_by_uid_in_the_vendor_shape(api):
    response = api.get("/v1/devices", {"uids": "1,2,59"})

    assert response.status_code == 200
    assert response.json() == {"devices": {"1": DEVICE_1, "59": DEVICE_59}}


@pytest.mark.world("gavazzi", "blynk")
def test_all_devices_without_filters(api):
    assert list(api.get("/v1/devices").json()["devices"]) == ["1", "59", "82", "101"]


def test_uids_may_also_be_repeated(api):
    response = api.get("/v1/devices?uids=1&uids=59")

    assert response.json() == {"devices": {"1": DEVICE_1, "59": DEVICE_59}}


def test_devices_filtered_by_protocol(api):
    assert api.get("/v1/devices", {"protocol": "meterBus"}).json() == {"devices": {"1": DEVICE_1}}
    assert api.get("/v1/devices", {"protocol": "P1"}).json() == {"devices": {}}


def test_one_device(api):
    assert api.get("/v1/devices/59").json() == {"devices": {"59": DEVICE_59}}


@pytest.mark.parametrize("path", ["/v1/devices/999", "/v1/devices/abc", "/v1/loads/999", "/v1/signals/999"])
def test_an_unknown_uid_in_the_path_is_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/devices", {"uids": "1,x"}),
        ("/v1/devices", {"uids": ""}),
        ("/v1/devices", {"protocol": "modbus"}),
        ("/v1/loads", {"protocol": "METERBUS"}),
        ("/v1/signals", {"uids": "1.5"}),
        ("/v1/signals", {"limit": "0"}),
        ("/v1/signals", {"limit": "10001"}),
        ("/v1/signals", {"limit": "ten"}),
        ("/v1/signals", {"page": "0"}),
        ("/v1/realtime", {"page": "-1"}),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(api, path, params):
    response = api.get(path, params)

    assert response.status_code == 400
    assert next(iter(params)) in response.json()["error"]


def test_loads_carry_their_protocol_configuration_under_the_protocol_key(api):
    assert api.get("/v1/loads", {"uids": "2"}).json() == {"loads": {"2": LOAD_2}}
    assert api.get("/v1/loads/2").json() == {"loads": {"2": LOAD_2}}
    assert api.get("/v1/devices/1/loads").json() == {"loads": {"2": LOAD_2}}
    assert api.get("/v1/loads", {"protocol": "meterBus"}).json() == {"loads": {"2": LOAD_2}}


def test_signals_in_the_vendor_shape_in_every_scope(api):
    expected = {"signals": {"100": SIGNAL_100, "101": SIGNAL_101}}

    assert api.get("/v1/signals", {"uids": "100,101"}).json() == expected
    assert api.get("/v1/loads/83/signals").json() == expected
    assert api.get("/v1/devices/82/signals").json() == expected
    assert api.get("/v1/signals/100").json() == {"signals": {"100": SIGNAL_100}}
    assert list(api.get("/v1/devices/1/signals").json()["signals"]) == ["3", "4", "5"]


def test_uids_filter_within_the_scope_of_every_path_the_signal_path_too(api):
    # Issue #13 (16): /v1/signals/{uid} ignored `uids` while the device and load paths applied it.
    assert api.get("/v1/devices/1", {"uids": "59"}).json() == {"devices": {}}
    assert api.get("/v1/loads/2", {"uids": "3"}).json() == {"loads": {}}
    assert api.get("/v1/signals/100", {"uids": "101"}).json() == {"signals": {}}
    assert api.get("/v1/signals/100", {"uids": "100,101"}).json() == {"signals": {"100": SIGNAL_100}}
    assert api.get("/v1/signals/100", {"uids": "x"}).status_code == 400


def test_signals_are_paged_by_limit_and_one_based_page(api):
    assert api.get("/v1/signals", {"limit": 2}).json()["signals"].keys() == {"3", "4"}
    assert api.get("/v1/signals", {"limit": 2, "page": 2}).json()["signals"].keys() == {"5", "100"}
    assert api.get("/v1/signals", {"limit": 2, "page": 9}).json() == {"signals": {}}


def test_another_organizations_objects_are_404_or_absent(api, other_api):
    Device.objects.create(organization=api_org(), uid=7777, label="Only in demo")

    assert other_api.get("/v1/devices/7777").status_code == 404
    assert "7777" not in other_api.get("/v1/devices").json()["devices"]
    assert other_api.get("/v1/devices", {"uids": "7777"}).json() == {"devices": {}}
    assert other_api.get("/v1/devices/7777/signals").status_code == 404
    assert other_api.get("/v1/sn").json()["sn"] != "EMS10AV5S1X0001"


def api_org():
    from apps.tenancy.models import Organization

    return Organization.objects.get(slug="demo")


@pytest.mark.parametrize("stored", [[], "meterBus", 5, None, {"meterBus": []}, {"meterBus": "ct=10"}])
def test_a_configuration_that_is_not_an_object_renders_as_an_empty_one(api, stored):
    # Saved before the admin validated it (or written in SQL): one bad load answered the whole
    # organization's /v1/loads with a 500.
    Load.objects.filter(organization__slug="demo", uid=2).update(config=Value(stored, JSONField()))

    response = api.get("/v1/loads")

    assert response.status_code == 200
    assert response.json()["loads"]["2"] == LOAD_2 | {"meterBus": {}}
