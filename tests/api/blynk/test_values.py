"""Current values: reading one device's and up to ten devices' datastreams, writing one or many
values, widget properties."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import JSONField, Value
from rest_framework.test import APIClient

from apps.inventory.models import DataStream, Device, ValueType
from apps.tenancy.models import Organization
from tests.api.dialect_clients import bearer, blynk_org_token
from tests.factories import DataStreamFactory, DeviceFactory
from tests.timeseries.helpers import BEFORE_THE_START_MS, store_unchecked

from .conftest import DAY_MS, NOW, NOW_MS, device_stream, history

V2 = "/api/v2/organization/device/datastreams"
BATCH = "/api/v1/organization/device/datastreams/batch"
VALUE = "/api/v1/organization/device/datastream"
VALUES = "/api/v1/organization/device/datastreams"
PROPERTY = "/api/v1/organization/device/datastream/property"
IMPORT = "/api/v1/organization/device/import/batch"
DEVICE_404 = {
    "error": {"message": "Device with identifier {} is not found or belong to another organization."}
}
STREAM_404 = {"error": {"message": "Data stream with identifier {} is not found!"}}


def device_404(uid):
    return {"error": {"message": DEVICE_404["error"]["message"].format(uid)}}


def stream_404(ident):
    return {"error": {"message": STREAM_404["error"]["message"].format(ident)}}


def stream(uid: int, stream_id: int, label: str, value=None, updated_at=None) -> dict:
    body = {
        "dataStreamId": stream_id,
        "pin": f"v{stream_id}",
        "dataStreamLabel": label,
        "dataStreamAlias": label,
    }
    if value is not None:
        body |= {"value": value, "updatedAt": updated_at}
    return body


@pytest.fixture
def extra_streams(world):
    """Device 101 also gets a string (v3), a location (v4) and a never-set integer datastream (v5)."""
    device = Device.objects.get(organization__slug="demo", uid=101)
    made = {}
    for stream_id, value_type in ((3, ValueType.STRING), (4, ValueType.LOCATION), (5, ValueType.INTEGER)):
        made[stream_id] = DataStreamFactory(
            device=device,
            stream_id=stream_id,
            pin=f"v{stream_id}",
            label=value_type.label,
            alias=value_type.label,
            value_type=value_type,
            series=None,
        )
    return made


# --- GET /api/v2/organization/device/datastreams ----------------------------------------------


def test_current_values_of_a_device_in_the_vendor_shape(clock, api):
    api.post(VALUES, {"deviceId": 101, "values": {"1": 21.5, "2": 40}}, format="json")

    response = api.get(V2, {"deviceId": 101})

    assert response.status_code == 200
    assert response.json() == [
        stream(101, 1, "Temperature", 21.5, NOW_MS),
        stream(101, 2, "Humidity", 40.0, NOW_MS),
    ]


def test_a_datastream_never_set_has_no_value_and_no_update_time(api, extra_streams):
    body = api.get(V2, {"deviceId": 101, "dataStreamIds": "5"}).json()

    assert body == [
        {"dataStreamId": 5, "pin": "v5", "dataStreamLabel": "Integer", "dataStreamAlias": "Integer"}
    ]


@pytest.mark.parametrize("query", ["dataStreamIds=2,7", "dataStreamIds=2&dataStreamIds=7"])
def test_datastream_ids_filter_in_both_list_forms(api, query):
    body = api.get(f"{V2}?deviceId=101&{query}").json()

    assert [s["dataStreamId"] for s in body] == [2]


def test_a_value_another_dialect_wrote_to_the_shared_series_is_the_current_value(clock, api):
    from apps.timeseries.store import Policy, SampleBatch, write

    ds = device_stream("demo", 1, 1)
    write(SampleBatch([ds.series_id], [NOW_MS + 1_000], [250.5]), Policy.OVERWRITE)
    clock.shift(1)  # the sample is a second ahead of the frozen clock: current once its time comes

    body = api.get(V2, {"deviceId": 1, "dataStreamIds": "1"}).json()

    assert body[0]["value"] == 250.5
    assert body[0]["updatedAt"] == NOW_MS + 1_000


def test_a_latest_sample_stored_outside_years_1_to_9999_is_shown_as_the_integer_it_is(api):
    # As older rows or a hand-written insert may leave it: epoch milliseconds show it exactly. (One
    # past year 9999 lies in the future, so it is not current: one before year 1 is.)
    ds = device_stream("demo", 1, 1)
    # Nothing newer: neither the demo's samples nor the datastream's own last value.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [ds.series_id])
    DataStream.objects.filter(pk=ds.pk).update(value=None, value_updated_at=None)
    store_unchecked(ds.series_id, [(BEFORE_THE_START_MS, 3.0)])

    response = api.get(V2, {"deviceId": 1, "dataStreamIds": "1"})

    assert response.status_code == 200
    assert (response.json()[0]["value"], response.json()[0]["updatedAt"]) == (3.0, BEFORE_THE_START_MS)


def ems_realtime(world, uid: int) -> dict:
    ems = APIClient()
    token = ems.post("/v1/auth/login", world["ems"], format="json").json()["token"]
    ems.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return ems.get("/v1/realtime", {"uids": str(uid)}).json()["realtime"][str(uid)]


@pytest.mark.world("blynk", "gavazzi")
def test_a_future_sample_is_stored_but_becomes_current_only_when_its_time_comes(clock, world):
    # Device 1's datastream 1 shares its series with EMS signal 100.
    api = bearer(blynk_org_token(world["blynk"]))
    future = NOW_MS + 29 * DAY_MS
    body = {"deviceId": 1, "dataStreamId": 1, "values": [{"value": 999, "ts": future}]}
    imported = api.post(IMPORT, body, format="json")
    assert imported.status_code == 204

    assert api.post(VALUE, {"deviceId": 1, "dataStreamId": 1, "value": 5}, format="json").status_code == 204

    now = [stream(1, 1, "Temperature", 5.0, NOW_MS)]
    assert api.get(V2, {"deviceId": 1, "dataStreamIds": "1"}).json() == now
    assert ems_realtime(world, 100) == {"uid": 100, "si": 29, "v": 5.0, "t": NOW_MS, "r": 0, "s": 1}
    assert history(device_stream("demo", 1, 1))[-2:] == [(NOW_MS, 5.0), (future, 999.0)]

    clock.move_to(datetime.fromtimestamp((future + 60_000) / 1000, tz=UTC))
    api = bearer(blynk_org_token(world["blynk"]))

    assert api.get(V2, {"deviceId": 1, "dataStreamIds": "1"}).json() == [
        stream(1, 1, "Temperature", 999.0, future)
    ]
    assert ems_realtime(world, 100) == {"uid": 100, "si": 29, "v": 999.0, "t": future, "r": 0, "s": 1}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "'deviceId' is required."),
        ({"deviceId": "one"}, "'deviceId' must be an integer."),
        (
            {"deviceId": "1", "dataStreamIds": "1,x"},
            "'dataStreamIds' must be a comma-separated list of integers.",
        ),
    ],
)
def test_bad_parameters_are_400_naming_them(api, query, message):
    response = api.get(V2, query)

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


@pytest.mark.parametrize("uid", [999, 4_294_967_296])
def test_an_unknown_device_gets_the_vendor_message(api, uid):
    response = api.get(V2, {"deviceId": uid})

    assert response.status_code == 404
    assert response.json() == device_404(uid)


def test_another_organizations_device_is_answered_like_a_missing_one(api, other_world):
    DeviceFactory(organization=Organization.objects.get(slug="other"), uid=777)

    response = api.get(V2, {"deviceId": 777})

    assert response.status_code == 404
    assert response.json() == device_404(777)


def test_another_organizations_token_never_sees_this_organizations_values(clock, api, other_api):
    other_api.post(VALUE, {"deviceId": 101, "dataStreamId": 1, "value": 21.5}, format="json")
    api.post(VALUE, {"deviceId": 101, "dataStreamId": 1, "value": 99.5}, format="json")

    mine = api.get(V2, {"deviceId": 101, "dataStreamIds": "1"}).json()[0]["value"]
    theirs = other_api.get(V2, {"deviceId": 101, "dataStreamIds": "1"}).json()[0]["value"]

    assert mine == 99.5
    assert theirs == 21.5


# --- GET /api/v1/organization/device/datastreams/batch ----------------------------------------


@pytest.mark.parametrize("query", ["deviceIds=101,1,999", "deviceIds=101&deviceIds=1&deviceIds=999"])
def test_batch_values_in_request_order_leaving_out_missing_devices(api, query):
    response = api.get(f"{BATCH}?{query}&dataStreamIds=1")

    assert response.status_code == 200
    body = response.json()
    assert [(d["deviceId"], [s["dataStreamId"] for s in d["dataStreams"]]) for d in body] == [
        (101, [1]),
        (1, [1]),
    ]


def test_batch_values_of_ten_devices_is_the_limit(api):
    ten = ",".join(str(uid) for uid in [1, 101, *range(200, 208)])
    eleven = ten + ",300"

    assert api.get(BATCH, {"deviceIds": ten}).status_code == 200
    response = api.get(BATCH, {"deviceIds": eleven})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "'deviceIds' may name at most 10 devices."}}


def test_repeated_device_ids_count_once(api):
    response = api.get(BATCH, {"deviceIds": ",".join(["1"] * 11)})

    assert response.status_code == 200
    assert [d["deviceId"] for d in response.json()] == [1]


def test_batch_values_need_device_ids(api):
    response = api.get(BATCH)

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "'deviceIds' is required."}}


def test_batch_values_leave_out_another_organizations_devices(api, other_world):
    DeviceFactory(organization=Organization.objects.get(slug="other"), uid=777)

    assert api.get(BATCH, {"deviceIds": "777"}).json() == []


# --- POST /api/v1/organization/device/datastream ----------------------------------------------


def test_a_numeric_value_is_the_current_value_and_recorded_in_history_at_server_time(clock, api):
    response = api.post(VALUE, {"deviceId": 101, "dataStreamId": 1, "value": 22.2}, format="json")

    assert response.status_code == 204
    ds = device_stream("demo", 101, 1)
    assert ds.value == 22.2
    assert history(ds)[-1] == (NOW_MS, 22.2)


def test_string_and_location_values_are_kept_as_the_current_value_only(clock, api, extra_streams):
    text = api.post(
        VALUE, {"deviceId": 101, "dataStreamId": 3, "value": "Some DataStream Value"}, format="json"
    )
    place = api.post(
        VALUE, {"deviceId": 101, "dataStreamId": 4, "value": [13.38886, 52.517037]}, format="json"
    )

    assert (text.status_code, place.status_code) == (204, 204)
    body = api.get(V2, {"deviceId": 101, "dataStreamIds": "3,4"}).json()
    assert [(s["value"], s["updatedAt"]) for s in body] == [
        ("Some DataStream Value", NOW_MS),
        ([13.38886, 52.517037], NOW_MS),
    ]
    assert DataStream.objects.get(pk=extra_streams[3].pk).series_id is None


@pytest.mark.parametrize(
    ("stream_id", "value", "expected"),
    [
        (1, "22.2", "a number"),
        (1, True, "a number"),
        (1, [1, 2], "a number"),
        (3, 5, "a string"),
        (4, [200, 10], "[longitude, latitude] within [-180, 180] and [-90, 90]"),
        (4, [1, 2, 3], "[longitude, latitude]"),
        (4, "13,52", "[longitude, latitude]"),
    ],
)
def test_a_value_that_does_not_fit_the_datastream_is_400_and_changes_nothing(
    api, extra_streams, stream_id, value, expected
):
    before = device_stream("demo", 101, stream_id)

    response = api.post(VALUE, {"deviceId": 101, "dataStreamId": stream_id, "value": value}, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith(f"'value' must be {expected} for datastream {stream_id}")
    after = device_stream("demo", 101, stream_id)
    assert (after.value, after.value_updated_at) == (before.value, before.value_updated_at)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dataStreamId": 1, "value": 1}, "'deviceId' is required."),
        (
            {"deviceId": "101", "dataStreamId": 1, "value": 1},
            "'deviceId' must be an integer from 0 to 2147483647.",
        ),
        (
            {"deviceId": 101, "dataStreamId": 1.5, "value": 1},
            "'dataStreamId' must be an integer from 0 to 2147483647.",
        ),
        ({"deviceId": 101, "dataStreamId": 1}, "'value' is required."),
        ({"deviceId": 101, "dataStreamId": 1, "value": None}, "'value' is required."),
    ],
)
def test_a_malformed_value_update_is_400_naming_the_field(api, body, message):
    response = api.post(VALUE, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


def test_an_unknown_datastream_gets_the_vendor_message(api):
    response = api.post(VALUE, {"deviceId": 101, "dataStreamId": 10, "value": 1}, format="json")

    assert response.status_code == 404
    assert response.json() == stream_404(10)


def test_a_value_for_another_organizations_device_is_404(api, other_world):
    DeviceFactory(organization=Organization.objects.get(slug="other"), uid=777)

    response = api.post(VALUE, {"deviceId": 777, "dataStreamId": 1, "value": 1}, format="json")

    assert response.json() == device_404(777)


# --- POST /api/v1/organization/device/datastreams ---------------------------------------------


def test_multiple_values_skip_unknown_ids_and_wrong_types_silently(clock, api, extra_streams):
    response = api.post(
        VALUES,
        {"deviceId": 101, "values": {"1": 20, "2": "humid", "3": "text", "9": 1, "x": 2, "4": [1, 2]}},
        format="json",
    )

    assert response.status_code == 204
    body = {s["dataStreamId"]: s.get("value") for s in api.get(V2, {"deviceId": 101}).json()}
    assert body[1] == 20
    assert body[2] != "humid"
    assert (body[3], body[4]) == ("text", [1, 2])
    assert history(device_stream("demo", 101, 1))[-1] == (NOW_MS, 20.0)


def test_multiple_values_with_more_keys_than_a_statement_takes_parameters(clock, api, extra_streams):
    # A 4 MiB body holds 300,000 keys; SQLite refused an IN list of 260,000 (a 500).
    values = {str(i): 1 for i in range(100, 260_100)} | {"1": 19.5, "3": "text", "5": "wrong"}

    response = api.post(VALUES, {"deviceId": 101, "values": values}, format="json")

    assert response.status_code == 204
    assert (device_stream("demo", 101, 1).value, device_stream("demo", 101, 3).value) == (19.5, "text")
    assert device_stream("demo", 101, 5).value is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"values": {}}, "'deviceId' is required."),
        ({"deviceId": 101}, "'values' is required."),
        ({"deviceId": 101, "values": [1, 2]}, "'values' must be an object of dataStreamId to value."),
    ],
)
def test_multiple_values_need_a_device_and_an_object(api, body, message):
    response = api.post(VALUES, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


def test_multiple_values_for_an_unknown_device_are_404(api):
    response = api.post(VALUES, {"deviceId": 999, "values": {"1": 1}}, format="json")

    assert response.json() == device_404(999)


# --- POST /api/v1/organization/device/datastream/property -------------------------------------


@pytest.mark.parametrize(
    ("prop", "value", "stored"),
    [
        ("label", "Room temperature", "Room temperature"),
        ("color", "#FF00aa", "#FF00aa"),
        ("min", "-10", -10),
        ("max", "40.5", 40.5),
        ("step", "0.5", 0.5),
        ("units", "°C", "°C"),
        ("units", "", ""),
        ("label", "x" * 200, "x" * 200),
    ],
)
def test_a_widget_property_is_stored(api, prop, value, stored):
    response = api.post(
        PROPERTY, {"deviceId": 101, "dataStreamId": 1, "property": prop, "value": value}, format="json"
    )

    assert response.status_code == 204
    ds = device_stream("demo", 101, 1)
    assert ds.properties[prop] == stored
    assert ds.label == "Temperature"


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("color", "#FF000", "'value' must be a color in the form #RRGGBB for property 'color'."),
        ("color", "red", "'value' must be a color in the form #RRGGBB for property 'color'."),
        ("min", "ten", "'value' must be a number for property 'min'."),
        ("max", "NaN", "'value' must be a number for property 'max'."),
        ("max", "1e999", "'value' must be a number for property 'max'."),
        ("step", "0", "'value' must be a positive number for property 'step'."),
        ("label", "  ", "'value' must not be blank for property 'label'."),
        ("label", "x" * 201, "'value' must be at most 200 characters."),
        ("size", "1", "'property' must be one of label, color, min, max, step, units."),
        ("min", 5, "'value' must be a string."),
        (None, "1", "'property' must be one of label, color, min, max, step, units."),
    ],
)
def test_a_property_value_that_does_not_fit_is_400_and_stores_nothing(api, prop, value, message):
    response = api.post(
        PROPERTY, {"deviceId": 101, "dataStreamId": 1, "property": prop, "value": value}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}
    assert device_stream("demo", 101, 1).properties == {}


def test_a_property_of_an_unknown_datastream_is_404(api):
    response = api.post(
        PROPERTY, {"deviceId": 101, "dataStreamId": 7, "property": "color", "value": "#000000"}, format="json"
    )

    assert response.json() == stream_404(7)


@pytest.mark.parametrize(
    ("stream_id", "stored"), [(3, 5), (3, ["a"]), (4, [500, 0]), (4, "home"), (5, "warm")]
)
def test_a_stored_value_that_does_not_fit_its_type_reads_as_never_set(
    clock, api, extra_streams, stream_id, stored
):
    # Saved in the admin before it checked values (or in SQL): a numeric datastream holding
    # "warm" answered the device's values, and a batch of ten devices, with a 500.
    DataStream.objects.filter(pk=extra_streams[stream_id].pk).update(
        value=Value(stored, JSONField()), value_updated_at=NOW
    )
    label = extra_streams[stream_id].label

    single = api.get(V2, {"deviceId": 101, "dataStreamIds": str(stream_id)})
    batch = api.get(BATCH, {"deviceIds": "101", "dataStreamIds": str(stream_id)})

    assert single.status_code == 200
    assert single.json() == [stream(101, stream_id, label)]
    assert batch.json() == [{"deviceId": 101, "dataStreams": [stream(101, stream_id, label)]}]


@pytest.mark.parametrize("stored", [["units"], "red", 5])
def test_a_property_replaces_stored_properties_that_are_not_an_object(api, stored):
    DataStream.objects.filter(organization__slug="demo", device__uid=101, stream_id=1).update(
        properties=Value(stored, JSONField())
    )

    response = api.post(
        PROPERTY, {"deviceId": 101, "dataStreamId": 1, "property": "units", "value": "°C"}, format="json"
    )

    assert response.status_code == 204
    assert device_stream("demo", 101, 1).properties == {"units": "°C"}
