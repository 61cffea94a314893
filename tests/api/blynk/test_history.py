"""History: importing batches of timestamped values and reading them back, paged."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.inventory.models import DataStream, Device, DeviceImportDay, ValueType
from apps.tenancy.models import Organization
from apps.timeseries import query
from apps.timeseries.services import samples_delete
from apps.timeseries.stats.buckets import TAG as STATISTICS_TAG
from apps.timeseries.store import MAX_TS_MS, MIN_TS_MS
from tests.factories import DataStreamFactory
from tests.timeseries.helpers import BEFORE_THE_START_MS, PAST_THE_END_MS, store_snapshot, store_unchecked
from tests.worlds import ALL as WORLD_ALL

from .conftest import DAY_MS, NOW_MS, device_stream, history

IMPORT = "/api/v1/organization/device/import/batch"
HISTORY = "/api/v1/organization/device/datastream/history"
WINDOW_MS = 30 * DAY_MS
# Device 101's datastreams hold a day of world samples up to NOW; these tests import before that.
EARLY = NOW_MS - 10 * DAY_MS


def points(n: int, start: int = EARLY, step: int = 1_000, value: float = 1.0) -> list[dict]:
    return [{"value": value + i, "ts": start + i * step} for i in range(n)]


def stored(stream_id: int = 1, uid: int = 101, start: int = EARLY, end: int = NOW_MS - 2 * DAY_MS):
    ds = device_stream("demo", uid, stream_id)
    return [(ts, v) for ts, v in history(ds) if start <= ts <= end]


def quota_used(uid: int = 101) -> int:
    return sum(
        DeviceImportDay.objects.filter(device__uid=uid, device__organization__slug="demo").values_list(
            "points", flat=True
        )
    )


# --- import ------------------------------------------------------------------------------------


def test_the_vendor_example_is_accepted_and_comes_back_from_history(clock, api):
    body = {
        "deviceId": 1,
        "dataStreamId": 1,
        "values": [{"value": 5, "ts": 1702656423136}, {"value": 2, "ts": 1702656428136}],
    }

    response = api.post(IMPORT, body, format="json")

    assert response.status_code == 204
    assert response.content == b""
    read = api.get(HISTORY, {"deviceId": 1, "dataStreamId": 1, "from": 1702656423136, "to": 1702656428136})
    assert read.status_code == 200
    assert read.json() == {
        "totalElements": 2,
        "content": [{"createdAt": 1702656423136, "value": 5.0}, {"createdAt": 1702656428136, "value": 2.0}],
    }


@pytest.mark.world(*WORLD_ALL)
def test_imported_data_is_visible_through_the_stores_other_readers(clock, api, world):
    api.post(IMPORT, {"deviceId": 1, "dataStreamId": 1, "values": points(2)}, format="json")

    # Device 1's datastream 1 shares its series with EMS signal 100.
    series_id = device_stream("demo", 1, 1).series_id
    rows = query.samples_page(series_id=series_id, start_ms=EARLY, end_ms=EARLY + 2_000, limit=10)
    assert [(r.ts, r.value) for r in rows] == [(EARLY, 1.0), (EARLY + 1_000, 2.0)]
    ems = APIClient()
    token = ems.post("/v1/auth/login", world["ems"], format="json").json()["token"]
    ems.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    records = ems.get("/v1/signals/100/history", {"start": EARLY, "end": EARLY + 60_000}).json()
    assert [(r["t"], r["v"], r["min"], r["max"]) for r in records] == [
        ((EARLY + 1_000) // 1000, 2.0, 1.0, 2.0)
    ]


def test_timestamps_may_be_strings_of_digits_as_the_vendor_types_them(clock, api):
    values = [{"value": 1.5, "ts": str(EARLY)}, {"value": 2.5, "ts": EARLY + 1}]

    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json").status_code
        == 204
    )
    assert stored() == [(EARLY, 1.5), (EARLY + 1, 2.5)]


def test_ten_thousand_values_are_accepted_in_one_request_and_one_store_write(clock, api):
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(10_000)}, format="json"
        )

    assert response.status_code == 204
    statements = [q["sql"] for q in queries.captured_queries]
    # One store.write: it locks its series once (then streams the rows in one COPY on PostgreSQL,
    # chunked INSERTs on SQLite); everything else is a handful of lookups.
    assert sum("SELECT s.id, s.pending_seq" in sql for sql in statements) == 1
    others = [sql for sql in statements if not sql.startswith("INSERT INTO timeseries_sample")]
    assert len([sql for sql in others if STATISTICS_TAG not in sql]) <= 14
    # The statistics: the batch's inner quarter-hours and days are copied (PostgreSQL: the copies
    # are not captured here, the deletes that clear their place first are), its edge quarter-hours
    # and their days upserted.
    assert len([sql for sql in others if STATISTICS_TAG in sql]) <= 4
    assert len(stored()) == 10_000
    assert quota_used() == 10_000


def test_ten_thousand_and_one_values_are_refused_and_nothing_is_stored(clock, api):
    response = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(10_001)}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "'values' may hold at most 10000 values."}}
    assert stored() == []
    assert quota_used() == 0


def test_a_timestamp_exactly_thirty_days_old_is_accepted(clock, api):
    values = [{"value": 1, "ts": NOW_MS - WINDOW_MS}]

    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json").status_code
        == 204
    )
    assert stored(start=NOW_MS - WINDOW_MS) == [(NOW_MS - WINDOW_MS, 1.0)]


def test_a_timestamp_older_than_thirty_days_refuses_the_request_naming_the_first(clock, api):
    values = [
        {"value": 1, "ts": EARLY},
        {"value": 2, "ts": NOW_MS - WINDOW_MS - 1},
        {"value": 3, "ts": NOW_MS - WINDOW_MS - 5},
    ]

    response = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "The timestamp at index 1 is more than 30 days in the past; older timestamps are not "
            "accepted."
        }
    }
    assert stored(start=0) == []
    assert quota_used() == 0


def test_timestamps_more_than_thirty_days_ahead_are_skipped_silently(clock, api):
    values = [
        {"value": 1, "ts": EARLY},
        {"value": 2, "ts": NOW_MS + WINDOW_MS},
        {"value": 3, "ts": NOW_MS + WINDOW_MS + 1},
        {"value": 4, "ts": str(MAX_TS_MS)},
    ]

    response = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json")

    assert response.status_code == 204
    assert stored(end=EARLY) == [(EARLY, 1.0)]
    assert stored(start=NOW_MS + 1, end=2**62) == [(NOW_MS + WINDOW_MS, 2.0)]
    assert quota_used() == 2


@pytest.mark.parametrize(
    "ts",
    [
        MAX_TS_MS + 1,  # 10000-01-01T00:00:00Z
        str(MAX_TS_MS + 1),
        "99999999999999999999999",
        2**63 - 1,
        MIN_TS_MS - 1,
        -(2**63),
    ],
)
def test_a_timestamp_outside_years_1_to_9999_refuses_the_request_naming_it(clock, api, ts):
    before = store_snapshot()
    values = [{"value": 1, "ts": EARLY}, {"value": 2, "ts": NOW_MS + WINDOW_MS + 1}, {"value": 3, "ts": ts}]

    response = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "The timestamp at index 2 is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z."
        }
    }
    assert store_snapshot() == before
    assert quota_used() == 0


def test_an_import_overwrites_stored_values_and_the_last_duplicate_wins(clock, api):
    api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(2)}, format="json")
    values = [{"value": 10, "ts": EARLY}, {"value": 20, "ts": EARLY}, {"value": 30, "ts": EARLY + 1_000}]

    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json").status_code
        == 204
    )
    assert stored() == [(EARLY, 20.0), (EARLY + 1_000, 30.0)]


def test_the_daily_quota_is_ten_thousand_points_per_device(clock, api):
    first = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(6_000)}, format="json")
    second = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 2, "values": points(4_000)}, format="json")
    over = api.post(
        IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(1, start=EARLY - 1)}, format="json"
    )
    other_device = api.post(IMPORT, {"deviceId": 1, "dataStreamId": 1, "values": points(1)}, format="json")

    assert (first.status_code, second.status_code) == (204, 204)
    assert over.status_code == 429
    assert over.json() == {
        "error": {
            "message": "Device 101 may import 10000 points a day (UTC); 0 are left today and this request "
            "holds 1."
        }
    }
    assert over.headers["Retry-After"] == str(12 * 3600)  # NOW is noon UTC
    assert stored(start=EARLY - 1, end=EARLY - 1) == []
    assert other_device.status_code == 204


def test_a_request_refused_by_the_quota_counts_nothing(clock, api):
    api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(9_999)}, format="json")

    refused = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 2, "values": points(2)}, format="json")
    fits = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 2, "values": points(1)}, format="json")

    assert refused.status_code == 429
    assert "1 are left today and this request holds 2" in refused.json()["error"]["message"]
    assert fits.status_code == 204
    assert quota_used() == 10_000
    assert stored(stream_id=2) == [(EARLY, 1.0)]


def test_a_request_refused_for_bad_input_counts_nothing(clock, api):
    api.post(
        IMPORT,
        {"deviceId": 101, "dataStreamId": 1, "values": [*points(3), {"value": "x", "ts": EARLY}]},
        format="json",
    )

    assert quota_used() == 0


def test_the_quota_starts_again_on_the_next_utc_day(clock, api):
    api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(10_000)}, format="json")
    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(1)}, format="json").status_code
        == 429
    )

    clock.shift(timedelta(hours=12))  # midnight UTC

    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(1)}, format="json").status_code
        == 204
    )


def test_the_quota_follows_the_organizations_own_limit(clock, api):
    Organization.objects.filter(slug="demo").update(import_points_per_device_day=5)

    ok = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(5)}, format="json")
    over = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(1)}, format="json")
    too_big = api.post(IMPORT, {"deviceId": 1, "dataStreamId": 1, "values": points(6)}, format="json")

    assert (ok.status_code, over.status_code, too_big.status_code) == (204, 429, 429)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"value": 1}, "'values[1].ts' is required."),
        (
            {"value": 1, "ts": 1.5e12},
            "'values[1].ts' must be epoch milliseconds: an integer or a string of digits.",
        ),
        (
            {"value": 1, "ts": "170265642313a"},
            "'values[1].ts' must be epoch milliseconds: an integer or a string of digits.",
        ),
        (
            {"value": 1, "ts": "-5"},
            "'values[1].ts' must be epoch milliseconds: an integer or a string of digits.",
        ),
        (
            {"value": 1, "ts": True},
            "'values[1].ts' must be epoch milliseconds: an integer or a string of digits.",
        ),
        ({"ts": EARLY}, "'values[1].value' is required."),
        ({"value": None, "ts": EARLY}, "'values[1].value' must be a number."),
        ({"value": "5", "ts": EARLY}, "'values[1].value' must be a number."),
        ({"value": True, "ts": EARLY}, "'values[1].value' must be a number."),
        ([1, EARLY], "'values[1]' must be an object with 'value' and 'ts'."),
    ],
)
def test_a_bad_value_is_400_naming_its_index_and_nothing_is_stored(clock, api, item, message):
    values = [{"value": 1, "ts": EARLY}, item]

    response = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": values}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}
    assert stored() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dataStreamId": 1, "values": []}, "'deviceId' is required."),
        ({"deviceId": 101, "values": []}, "'dataStreamId' is required."),
        ({"deviceId": 101, "dataStreamId": 1}, "'values' is required."),
        ({"deviceId": 101, "dataStreamId": 1, "values": []}, "'values' must hold at least one value."),
        (
            {"deviceId": 101, "dataStreamId": 1, "values": {"value": 1}},
            '\'values\' must be a list of {"value", "ts"} objects.',
        ),
    ],
)
def test_a_malformed_import_is_400_naming_the_field(api, body, message):
    response = api.post(IMPORT, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


def test_an_import_into_an_unknown_device_or_datastream_is_404(api):
    device = api.post(IMPORT, {"deviceId": 5, "dataStreamId": 1, "values": points(1)}, format="json")
    stream = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 9, "values": points(1)}, format="json")

    assert device.json() == {
        "error": {"message": "Device with identifier 5 is not found or belong to another organization."}
    }
    assert stream.json() == {"error": {"message": "Data stream with identifier 9 is not found!"}}


MESSAGE_STRING = (
    "Data stream 3 is a string datastream: history is kept for numeric datastreams "
    "(integer, double, enum) only."
)


def test_string_datastreams_keep_no_history_to_import_or_read(clock, api, text_stream):
    imported = api.post(IMPORT, {"deviceId": 101, "dataStreamId": 3, "values": points(1)}, format="json")
    read = api.get(HISTORY, {"deviceId": 101, "dataStreamId": 3, "from": 0, "to": NOW_MS})

    assert (imported.status_code, read.status_code) == (400, 400)
    assert imported.json() == read.json() == {"error": {"message": MESSAGE_STRING}}
    assert DataStream.objects.get(pk=text_stream.pk).series_id is None


def test_a_numeric_datastream_without_a_series_gets_one_on_its_first_import(clock, api):
    ds = DataStreamFactory(
        device=Device.objects.get(organization__slug="demo", uid=101), stream_id=6, pin="v6", series=None
    )

    assert (
        api.post(IMPORT, {"deviceId": 101, "dataStreamId": 6, "values": points(1)}, format="json").status_code
        == 204
    )
    ds.refresh_from_db()
    assert history(ds) == [(EARLY, 1.0)]


# --- history -----------------------------------------------------------------------------------


@pytest.fixture
def five(clock, api):
    """Five samples on device 101's datastream 1, one a second from EARLY: values 1..5."""
    api.post(IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(5)}, format="json")


def read(api, **params):
    return api.get(HISTORY, {"deviceId": 101, "dataStreamId": 1, **params})


def test_history_from_and_to_are_inclusive_oldest_first(five, api):
    body = read(api, **{"from": EARLY + 1_000, "to": EARLY + 3_000}).json()

    assert body == {
        "totalElements": 3,
        "content": [{"createdAt": EARLY + i * 1_000, "value": 1.0 + i} for i in (1, 2, 3)],
    }


def test_history_pages_are_zero_based_with_size_50_by_default(five, api):
    first = read(api, **{"from": EARLY, "to": EARLY + 10_000, "size": 2}).json()
    third = read(api, **{"from": EARLY, "to": EARLY + 10_000, "size": 2, "page": 2}).json()
    beyond = read(api, **{"from": EARLY, "to": EARLY + 10_000, "size": 2, "page": 3}).json()
    default = read(api, **{"from": EARLY, "to": EARLY + 10_000}).json()

    assert [c["value"] for c in first["content"]] == [1.0, 2.0]
    assert third == {"totalElements": 5, "content": [{"createdAt": EARLY + 4_000, "value": 5.0}]}
    assert beyond == {"totalElements": 5, "content": []}
    assert len(default["content"]) == 5


def test_the_total_follows_every_change_to_the_samples_between_pages(five, api):
    window = {"from": EARLY, "to": EARLY + 10_000, "size": 2}
    assert read(api, **window).json()["totalElements"] == 5

    api.post(
        IMPORT, {"deviceId": 101, "dataStreamId": 1, "values": points(2, start=EARLY + 7_000)}, format="json"
    )
    after_import = read(api, **window, page=3).json()
    samples_delete(series_id=device_stream("demo", 101, 1).series_id, start_ms=EARLY, end_ms=EARLY + 2_000)
    after_delete = read(api, **window).json()

    assert after_import == {"totalElements": 7, "content": [{"createdAt": EARLY + 8_000, "value": 2.0}]}
    assert after_delete["totalElements"] == 5
    assert [c["value"] for c in after_delete["content"]] == [3.0, 4.0]


def test_paging_through_a_range_counts_it_once(five, api):
    window = {"from": EARLY, "to": EARLY + 10_000, "size": 2}
    read(api, **window)

    with CaptureQueriesContext(connection) as later:
        body = read(api, **window, page=1).json()

    assert body["totalElements"] == 5
    assert not [q for q in later if "COUNT(" in q["sql"].upper()]


def test_a_page_of_a_thousand_is_the_largest(five, api):
    assert read(api, **{"from": EARLY, "to": NOW_MS, "size": 1000}).status_code == 200
    response = read(api, **{"from": EARLY, "to": NOW_MS, "size": 1001})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "'size' must be at most 1000."}}


def test_history_by_pin(five, api):
    body = api.get(HISTORY, {"deviceId": 101, "pin": "V1", "from": EARLY, "to": EARLY}).json()

    assert body == {"totalElements": 1, "content": [{"createdAt": EARLY, "value": 1.0}]}


def test_an_unknown_pin_gets_the_datastream_message(api):
    response = api.get(HISTORY, {"deviceId": 101, "pin": "v9", "from": 0, "to": 1})

    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Data stream with identifier v9 is not found!"}}


def test_integer_datastreams_read_back_whole_numbers(clock, api):
    ds = DataStreamFactory(
        device=Device.objects.get(organization__slug="demo", uid=101),
        stream_id=7,
        pin="v7",
        value_type=ValueType.INTEGER,
        series=None,
    )
    api.post(
        IMPORT,
        {
            "deviceId": 101,
            "dataStreamId": ds.stream_id,
            "values": [{"value": 3, "ts": EARLY}, {"value": 2.5, "ts": EARLY + 1}],
        },
        format="json",
    )

    content = read(api, dataStreamId=7, **{"from": EARLY, "to": EARLY + 1}).json()["content"]

    assert [c["value"] for c in content] == [3, 2.5]
    assert isinstance(content[0]["value"], int)


def test_samples_stored_outside_years_1_to_9999_read_back_as_the_integers_they_are(clock, api):
    # Given samples no write accepts any more, as older rows or a hand-written insert may hold
    # them: Blynk's epoch milliseconds show any stored instant exactly, so they are shown.
    ds = DataStreamFactory(
        device=Device.objects.get(organization__slug="demo", uid=101), stream_id=8, pin="v8"
    )
    store_unchecked(ds.series_id, [(BEFORE_THE_START_MS, 1.0), (EARLY, 2.0), (PAST_THE_END_MS, 3.0)])

    response = read(api, dataStreamId=8, **{"from": -(10**17), "to": 10**17})

    assert response.status_code == 200
    assert response.json() == {
        "totalElements": 3,
        "content": [
            {"createdAt": BEFORE_THE_START_MS, "value": 1.0},
            {"createdAt": EARLY, "value": 2.0},
            {"createdAt": PAST_THE_END_MS, "value": 3.0},
        ],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dataStreamId": None}, "'dataStreamId' or 'pin' is required."),
        ({"from": None}, "'from' is required."),
        ({"to": None}, "'to' is required."),
        ({"from": "x"}, "'from' must be an integer."),
        ({"from": 10, "to": 9}, "'from' must not be after 'to'."),
        ({"size": 0}, "'size' must be at least 1."),
        ({"page": -1}, "'page' must be at least 0."),
        ({"deviceId": None}, "'deviceId' is required."),
    ],
)
def test_bad_history_parameters_are_400_naming_them(api, params, message):
    query_params = {"deviceId": 101, "dataStreamId": 1, "from": 0, "to": 10} | params

    response = api.get(HISTORY, {k: v for k, v in query_params.items() if v is not None})

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message}}


def test_history_of_another_organizations_device_is_404(five, api, other_api):
    Device.objects.filter(organization__slug="demo", uid=101).update(uid=555)

    response = other_api.get(HISTORY, {"deviceId": 555, "dataStreamId": 1, "from": 0, "to": NOW_MS})

    assert response.json() == {
        "error": {"message": "Device with identifier 555 is not found or belong to another organization."}
    }
