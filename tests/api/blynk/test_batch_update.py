"""POST /api/v1/organization/product/devices/batch-update: one product's devices in one request."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.blynk.parsing import batch_update_body
from apps.api.blynk.views import MAX_BATCH_ROWS
from apps.inventory.batch_update import DeviceRow, product_batch_update
from apps.inventory.models import DataStream, Device, Product
from apps.tenancy.models import Membership, Organization, Role
from tests.factories import DataStreamFactory, DeviceFactory, ProductFactory

from .conftest import NOW_MS, device_stream, history

PATH = "/api/v1/organization/product/devices/batch-update"
FIELDS = ["deviceId", "Temperature", "Humidity"]
ZERO = {
    "invalidRowSize": 0,
    "nullDeviceId": 0,
    "nonNumericDeviceId": 0,
    "deviceNotFound": 0,
    "noAccessToDevice": 0,
    "wrongProduct": 0,
}


def demo_org():
    return Organization.objects.get(slug="demo")


def device_with_streams(uid: int, product: Product | None) -> Device:
    device = DeviceFactory(organization=demo_org(), uid=uid, product=product)
    for stream_id, label in ((1, "Temperature"), (2, "Humidity")):
        DataStreamFactory(device=device, stream_id=stream_id, pin=f"v{stream_id}", label=label)
    return device


@pytest.fixture
def others(world):
    """Device 300 in a sub-product of the world product, 301 in another product, 302 in none."""
    demo_product = Product.objects.get(organization__slug="demo", name="Demo product")
    device_with_streams(300, ProductFactory(organization=demo_org(), name="Variant", parent=demo_product))
    device_with_streams(301, ProductFactory(organization=demo_org(), name="Other product"))
    device_with_streams(302, None)


def test_all_rows_applied_is_204_and_numeric_values_enter_history(clock, api):
    response = api.post(PATH, {"fields": FIELDS, "updates": [[1, 20.5, 40], [101, 19, None]]}, format="json")

    assert response.status_code == 204
    assert device_stream("demo", 1, 1).value == 20.5
    assert device_stream("demo", 1, 2).value == 40
    assert device_stream("demo", 101, 1).value == 19
    assert history(device_stream("demo", 101, 1))[-1] == (NOW_MS, 19.0)


def test_null_cells_and_values_of_the_wrong_type_leave_that_datastream_alone(api):
    before = device_stream("demo", 101, 2).value

    response = api.post(PATH, {"fields": FIELDS, "updates": [[101, 18, None], [1, 17, "wet"]]}, format="json")

    assert response.status_code == 204
    assert device_stream("demo", 101, 2).value == before
    assert device_stream("demo", 1, 1).value == 17


def test_a_device_in_several_rows_keeps_the_last_usable_value_of_each_datastream(api):
    updates = [[1, 10, 20], [1, 11, None], [1, None, "wet"], [101, 5, 5]]

    response = api.post(PATH, {"fields": FIELDS, "updates": updates}, format="json")

    assert response.status_code == 204
    assert (device_stream("demo", 1, 1).value, device_stream("demo", 1, 2).value) == (11, 20)


def test_a_sub_product_counts_as_its_parent(api, others):
    response = api.post(PATH, {"fields": FIELDS, "updates": [[1, 1, 1], ["300", 2, 2]]}, format="json")

    assert response.status_code == 204
    assert device_stream("demo", 300, 1).value == 2


def test_the_counters_count_each_reason_for_skipping_a_row(api, others, other_world):
    updates = [
        [1, 1, 1],  # first valid: the world product
        [101, 2],  # invalidRowSize
        "101",  # invalidRowSize
        [None, 1, 1],  # nullDeviceId
        ["abc", 1, 1],  # nonNumericDeviceId
        [1.5, 1, 1],  # nonNumericDeviceId
        [True, 1, 1],  # nonNumericDeviceId
        [999, 1, 1],  # deviceNotFound
        [301, 1, 1],  # wrongProduct
        [302, 1, 1],  # wrongProduct (no product)
        [300, 3, 3],  # applied (sub-product)
    ]
    Device.objects.filter(organization__slug="other", uid=101).update(uid=888)  # exists only elsewhere
    updates.append([888, 1, 1])  # deviceNotFound: another organization's device

    response = api.post(PATH, {"fields": FIELDS, "updates": updates}, format="json")

    assert response.status_code == 200
    assert response.json() == ZERO | {
        "invalidRowSize": 2,
        "nullDeviceId": 1,
        "nonNumericDeviceId": 3,
        "deviceNotFound": 2,
        "wrongProduct": 2,
    }
    assert device_stream("demo", 300, 1).value == 3
    assert device_stream("demo", 301, 1).value is None


def test_debug_mode_gives_a_reason_per_skipped_row(api, others):
    updates = [[999, 1, 1], [1, 1, 1], [None, 1, 1], ["x", 1, 1], [1], [301, 1, 1]]

    response = api.post(PATH, {"fields": FIELDS, "updates": updates, "debug": True}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "skippedRows": [
            "Row 0: device 999 is not found or belong to another organization",
            "Row 2: deviceId is null",
            "Row 3: deviceId 'x' is not numeric",
            "Row 4: the row's length differs from the length of 'fields'",
            "Row 5: device 301 belongs to another product",
        ]
    }


def test_debug_mode_reports_at_most_a_hundred_reasons(api):
    updates = [[1, 1, 1]] + [[None, 1, 1]] * 150

    body = api.post(PATH, {"fields": FIELDS, "updates": updates, "debug": True}, format="json").json()

    assert len(body["skippedRows"]) == 100
    assert body["skippedRows"][0] == "Row 1: deviceId is null"


def test_the_product_is_the_first_valid_devices(api, others):
    response = api.post(PATH, {"fields": FIELDS, "updates": [[301, 5, 5], [1, 6, 6]]}, format="json")

    assert response.json() == ZERO | {"wrongProduct": 1}
    assert device_stream("demo", 301, 1).value == 5


def test_devices_the_user_may_not_see_count_as_no_access(world, user_api):
    user = get_user_model().objects.get(username=world["blynk"]["user"]["username"])
    role = Role.objects.create(name="Owner operator", slug="owner-operator")
    role.permissions.set(
        Role.objects.get(slug="blynk-operator").permissions.filter(codename="ORG_DEVICES_CONTROL")
        | Role.objects.get(slug="blynk-device-owner").permissions.all()
    )
    Membership.objects.get(user=user).roles.add(role)

    response = user_api.post(PATH, {"fields": FIELDS, "updates": [[101, 1, 1], [1, 2, 2]]}, format="json")

    assert response.status_code == 200
    assert response.json() == ZERO | {"noAccessToDevice": 1}
    assert device_stream("demo", 1, 1).value == 2
    assert device_stream("demo", 101, 1).value != 1


def test_no_valid_device_at_all_is_400_and_changes_nothing(api):
    response = api.post(PATH, {"fields": FIELDS, "updates": [[999, 1, 1], [None, 1, 1]]}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "'updates' holds no row with a valid device to take the product from."}
    }


def test_ten_thousand_rows_are_the_limit(api):
    ok = api.post(PATH, {"fields": FIELDS, "updates": [[1, i, i] for i in range(10_000)]}, format="json")
    too_many = api.post(PATH, {"fields": FIELDS, "updates": [[1, 1, 1]] * 10_001}, format="json")

    assert ok.status_code == 204
    assert device_stream("demo", 1, 1).value == 9_999  # the last row wins
    assert too_many.status_code == 400
    assert too_many.json() == {"error": {"message": "'updates' may hold at most 10000 rows."}}
    assert device_stream("demo", 1, 1).value == 9_999


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"updates": []}, "'fields' is required."),
        ({"fields": "deviceId", "updates": []}, "'fields' must be a list of strings."),
        (
            {"fields": ["deviceId"], "updates": []},
            "'fields' must start with \"deviceId\", followed by at least one label.",
        ),
        (
            {"fields": ["id", "Temperature"], "updates": []},
            "'fields' must start with \"deviceId\", followed by at least one label.",
        ),
        ({"fields": ["deviceId", 5], "updates": []}, "'fields[1]' must be a datastream label."),
        ({"fields": ["deviceId", "A", "A"], "updates": []}, "'fields[2]' repeats the label 'A'."),
        ({"fields": FIELDS}, "'updates' is required."),
        ({"fields": FIELDS, "updates": {}}, "'updates' must be a list of rows."),
        ({"fields": FIELDS, "updates": [[1, 1, 1]], "debug": "yes"}, "'debug' must be true or false."),
    ],
)
def test_a_malformed_batch_update_is_400_naming_the_field(api, body, message):
    response = api.post(PATH, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


class CountedLabel(str):
    """A label that counts how often it is compared for equality: the work a duplicate check
    does, measured without a timer."""

    comparisons = 0

    def __eq__(self, other):
        CountedLabel.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def label_comparisons(n: int) -> int:
    CountedLabel.comparisons = 0
    labels = [CountedLabel(f"label {i}") for i in range(n)]
    body = batch_update_body({"fields": ["deviceId", *labels], "updates": []}, max_rows=MAX_BATCH_ROWS)
    assert body.labels == labels
    return CountedLabel.comparisons


def test_checking_the_labels_for_duplicates_takes_linear_work():
    # 40,000 labels used to take 18 s: each was compared with every label before it.
    small, large = label_comparisons(1_000), label_comparisons(4_000)

    assert large <= 4 * small + 10


def batch_update_queries(uid: int, n: int) -> int:
    """The queries of a batch update of one new device with `n` datastreams (no series yet), one
    label each."""
    organization = demo_org()
    device = DeviceFactory(
        organization=organization,
        uid=uid,
        product=Product.objects.get(organization=organization, name="Demo product"),
    )
    DataStream.objects.bulk_create(
        DataStream(organization=organization, device=device, stream_id=i, pin=f"v{i}", label=f"Label {i}")
        for i in range(n)
    )
    with CaptureQueriesContext(connection) as captured:
        product_batch_update(
            organization=organization,
            labels=[f"Label {i}" for i in range(n)],
            rows=[DeviceRow(0, uid, range(n))],
        )
    assert DataStream.objects.filter(device=device, series__isnull=True).count() == 0
    return len(captured)


def test_the_services_queries_grow_by_batches_not_by_labels(world):
    # 300 more labels of new datastreams cost 600 more queries (a series created and linked one
    # by one); bulk statements of hundreds of rows (fewer on SQLite) add a few.
    extra = batch_update_queries(500, 400) - batch_update_queries(501, 100)

    assert extra <= 30


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_device_id_nested_deeper_than_any_cell_value_is_400_and_changes_nothing(api, debug):
    before = device_stream("demo", 1, 1).value
    updates = f"[[1, 5, 5], [{nested(990)}, 1, 1]]"
    body = f'{{"fields": ["deviceId", "Temperature", "Humidity"], "updates": {updates}, "debug": {debug}}}'

    response = api.post(PATH, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "'updates[1][0]' is nested too deeply: a cell holds a number, a string, null or "
            "[longitude, latitude]."
        }
    }
    assert device_stream("demo", 1, 1).value == before


def test_debug_reasons_show_a_bad_device_id_shortened(api):
    updates = [[1, 1, 1], [[7], 1, 1], ["9" * 30 + "x" * 5_000, 1, 1]]

    response = api.post(PATH, {"fields": FIELDS, "updates": updates, "debug": True}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "skippedRows": [
            "Row 1: deviceId [7] is not numeric",
            f"Row 2: deviceId '{'9' * 17}...{'x' * 18}' is not numeric",
        ]
    }
