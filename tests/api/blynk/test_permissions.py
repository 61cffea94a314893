"""User-scoped tokens: the demo's Blynk user owns device 1 and holds only OWN_DEVICES_VIEW."""

import pytest
from django.contrib.auth import get_user_model

from apps.tenancy.models import Membership, Role
from apps.tenancy.services import membership_grant

from .conftest import EARLY_MS, device_stream

V2 = "/api/v2/organization/device/datastreams"
BATCH = "/api/v1/organization/device/datastreams/batch"
HISTORY = "/api/v1/organization/device/datastream/history"
VALUE = "/api/v1/organization/device/datastream"
VALUES = "/api/v1/organization/device/datastreams"
BATCH_UPDATE = "/api/v1/organization/product/devices/batch-update"
IMPORT = "/api/v1/organization/device/import/batch"
PROPERTY = "/api/v1/organization/device/datastream/property"

DEVICE_101_404 = {
    "error": {"message": "Device with identifier 101 is not found or belong to another organization."}
}

WRITES = [
    (VALUE, {"deviceId": 1, "dataStreamId": 1, "value": 1}, "ORG_DEVICES_CONTROL"),
    (VALUES, {"deviceId": 1, "values": {"1": 1}}, "ORG_DEVICES_CONTROL"),
    (PROPERTY, {"deviceId": 1, "dataStreamId": 1, "property": "units", "value": "C"}, "ORG_DEVICES_CONTROL"),
    (BATCH_UPDATE, {"fields": ["deviceId", "Temperature"], "updates": [[1, 1]]}, "ORG_DEVICES_CONTROL"),
    (
        IMPORT,
        {"deviceId": 1, "dataStreamId": 1, "values": [{"value": 1, "ts": EARLY_MS}]},
        "ORG_DEVICE_DATA_IMPORT",
    ),
]


def blynk_user(world):
    return get_user_model().objects.get(username=world["blynk"]["user"]["username"])


def test_an_owner_sees_their_own_device(user_api):
    response = user_api.get(V2, {"deviceId": 1})

    assert response.status_code == 200
    assert [s["dataStreamId"] for s in response.json()] == [1, 2]


def test_an_owner_gets_the_vendor_404_for_a_device_they_do_not_own(user_api):
    for path, params in ((V2, {}), (HISTORY, {"dataStreamId": 1, "from": 0, "to": 1})):
        response = user_api.get(path, {"deviceId": 101, **params})
        assert response.status_code == 404
        assert response.json() == DEVICE_101_404


def test_a_batch_read_leaves_out_devices_the_owner_cannot_see(user_api):
    response = user_api.get(BATCH, {"deviceIds": "1,101"})

    assert [d["deviceId"] for d in response.json()] == [1]


def test_history_of_an_owned_device_is_readable(user_api):
    assert user_api.get(HISTORY, {"deviceId": 1, "dataStreamId": 1, "from": 0, "to": 1}).status_code == 200


@pytest.mark.parametrize(("path", "body", "permission"), WRITES)
def test_writes_without_their_permission_are_403_and_change_nothing(user_api, path, body, permission):
    before = device_stream("demo", 1, 1)

    response = user_api.post(path, body, format="json")

    assert response.status_code == 403
    assert response.json() == {"error": {"message": f"The {permission} permission is required."}}
    after = device_stream("demo", 1, 1)
    assert (after.value, after.properties) == (before.value, before.properties)


def test_a_user_without_any_view_permission_is_403(world, user_api):
    Membership.objects.get(user=blynk_user(world)).roles.clear()

    response = user_api.get(V2, {"deviceId": 1})

    assert response.status_code == 403
    assert response.json() == {
        "error": {"message": "The OWN_DEVICES_VIEW or ORG_DEVICES_VIEW permission is required."}
    }


def test_granting_a_role_takes_effect_on_the_existing_token(world, user_api):
    membership_grant(
        user=blynk_user(world),
        organization=Membership.objects.get(user=blynk_user(world)).organization,
        role_slugs=["blynk-operator"],
    )

    assert user_api.get(V2, {"deviceId": 101}).status_code == 200
    assert (
        user_api.post(VALUE, {"deviceId": 101, "dataStreamId": 1, "value": 3}, format="json").status_code
        == 204
    )


def test_control_with_only_own_devices_view_reaches_owned_devices_only(world, user_api):
    role = Role.objects.create(name="Owner operator", slug="owner-operator")
    role.permissions.set(
        Role.objects.get(slug="blynk-operator").permissions.filter(codename="ORG_DEVICES_CONTROL")
        | Role.objects.get(slug="blynk-device-owner").permissions.all()
    )
    Membership.objects.get(user=blynk_user(world)).roles.add(role)

    own = user_api.post(VALUE, {"deviceId": 1, "dataStreamId": 1, "value": 3}, format="json")
    other = user_api.post(VALUE, {"deviceId": 101, "dataStreamId": 1, "value": 3}, format="json")

    assert own.status_code == 204
    assert (other.status_code, other.json()) == (404, DEVICE_101_404)
