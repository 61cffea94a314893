"""Realtime values and history rollups against hand-computed expectations."""

import time

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.inventory.models import Signal
from apps.tenancy.models import Organization
from apps.timeseries.store import Policy, SampleBatch, write
from tests.api.dialect_clients import ems_token
from tests.factories import DeviceFactory, LoadFactory, SeriesFactory, SignalFactory
from tests.timeseries.helpers import BEFORE_THE_START_MS, PAST_THE_END_MS, store_unchecked

BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z, a multiple of the 60 s period
BASE_S = BASE_MS // 1000


@pytest.fixture
def signals(world):
    """Device 500 / load 500 with signals 500 (samples below), 501 (none) and 502 (disabled)."""
    organization = Organization.objects.get(slug="demo")
    load = LoadFactory(device=DeviceFactory(organization=organization, uid=500), uid=500)
    made = {
        uid: SignalFactory(
            load=load, uid=uid, si=29, enable=uid != 502, series=SeriesFactory(organization=organization)
        )
        for uid in (500, 501, 502)
    }
    samples = [
        (5_000, 10.0),  # period 0
        (59_500, 10.5),  # period 0, last
        (60_000, 9.0),  # period 1
        (119_999, 9.25),  # period 1, last (t floors to 119 s)
        # period 2 has no sample
        (200_000, 12.0),  # period 3
    ]
    series_id = made[500].series_id
    write(
        SampleBatch([series_id] * len(samples), [BASE_MS + t for t, _ in samples], [v for _, v in samples]),
        Policy.OVERWRITE,
    )
    write(SampleBatch([made[502].series_id], [BASE_MS], [1.0]), Policy.OVERWRITE)
    return made


def get_at(seconds: float, path: str, params=None):
    """GET as the world user at a frozen moment (tokens are issued at that moment too)."""
    with time_machine.travel(seconds, tick=False):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {ems_token('admin', 's3cret!')}")
        return client.get(path, params or {})


def record(t, p, v, d, max_, min_, uid=500):
    return {"uid": uid, "t": BASE_S + t, "p": BASE_S + p, "v": v, "d": d, "max": max_, "min": min_}


PERIOD_0 = record(59, 60, 10.5, 0, 10.5, 10.0)
PERIOD_1 = record(119, 120, 9.25, -1.25, 9.25, 9.0)
PERIOD_3 = record(200, 240, 12.0, 2.75, 12.0, 12.0)
WINDOW = {"start": BASE_MS, "end": BASE_MS + 3_600_000}


def test_history_rolls_up_each_epoch_aligned_period_and_skips_empty_ones(api, signals):
    response = api.get("/v1/history", {"uids": "500,501", **WINDOW})

    assert response.status_code == 200
    assert response.json() == {"history": {"500": [PERIOD_0, PERIOD_1, PERIOD_3], "501": []}}


def test_history_start_is_inclusive_end_exclusive_and_periods_stay_epoch_aligned(api, signals):
    response = api.get("/v1/history", {"uids": "500", "start": BASE_MS + 30_000, "end": BASE_MS + 200_000})

    # Period 0 holds only the 59.5 s sample now; the 200 s sample is at the excluded end.
    assert response.json() == {"history": {"500": [record(59, 60, 10.5, 0, 10.5, 10.5), PERIOD_1]}}


def test_history_paging_counts_records_per_signal_and_keeps_deltas(api, signals):
    page_2 = api.get("/v1/history", {"uids": "500", "limit": 1, "page": 2, **WINDOW})
    page_3 = api.get("/v1/history", {"uids": "500", "limit": 1, "page": 3, **WINDOW})

    assert page_2.json() == {"history": {"500": [PERIOD_1]}}
    assert page_3.json() == {"history": {"500": [PERIOD_3]}}


def test_signal_history_is_a_bare_array(api, signals):
    response = api.get("/v1/signals/500/history", WINDOW)

    assert response.json() == [PERIOD_0, PERIOD_1, PERIOD_3]


def test_history_in_device_and_load_scope(api, signals):
    expected = {
        "history": {
            "500": [PERIOD_0, PERIOD_1, PERIOD_3],
            "501": [],
            "502": [record(0, 60, 1.0, 0, 1.0, 1.0, uid=502)],
        }
    }

    assert api.get("/v1/devices/500/history", WINDOW).json() == expected
    assert api.get("/v1/loads/500/history", WINDOW).json() == expected


def test_history_defaults_to_the_last_24_hours(world, signals):
    in_window = get_at(BASE_S + 86_400 + 4.5, "/v1/signals/500/history").json()
    later = get_at(BASE_S + 86_400 + 60, "/v1/signals/500/history").json()

    # now - 24 h = BASE + 4.5 s: the 5 s sample is the first in the window; a minute later the
    # window starts at BASE + 60 s, so period 1 is the first record and its delta is 0.
    assert in_window == [PERIOD_0, PERIOD_1, PERIOD_3]
    assert later == [record(119, 120, 9.25, 0, 9.25, 9.0), PERIOD_3]


def test_latest_record_per_signal(api, signals):
    response = api.get("/v1/history/last", {"uids": "500,501"})

    assert response.json() == {"history": {"500": PERIOD_3}}
    assert api.get("/v1/devices/500/history/last").json()["history"].keys() == {"500", "502"}
    assert api.get("/v1/loads/500/history/last").json()["history"]["500"] == PERIOD_3


@pytest.mark.parametrize(
    "params",
    [
        {"start": "abc"},
        {"end": "1.5"},
        {"start": BASE_MS, "end": BASE_MS},
        {"start": -1},
        {"limit": 0},
        {"page": "x"},
    ],
)
def test_bad_history_parameters_are_400(api, signals, params):
    response = api.get("/v1/history", params)

    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_realtime_reports_the_latest_sample_in_milliseconds(world, signals):
    response = get_at(BASE_S + 200 + 60, "/v1/realtime", {"uids": "500,501,502"})

    assert response.status_code == 200
    assert response.json() == {
        "realtime": {
            "500": {"uid": 500, "si": 29, "v": 12.0, "t": BASE_MS + 200_000, "r": 0, "s": 1},
            "501": {"uid": 501, "si": 29, "v": None, "t": None, "r": 0, "s": 0},
            "502": {"uid": 502, "si": 29, "v": 1.0, "t": BASE_MS, "r": 0, "s": 0},
        }
    }


def test_realtime_turns_stale_after_the_organizations_staleness_limit(world, signals):
    Organization.objects.filter(slug="demo").update(realtime_staleness_seconds=60)
    last = (BASE_MS + 200_000) / 1000

    fresh = get_at(last + 59, "/v1/realtime", {"uids": "500"})
    stale = get_at(last + 61, "/v1/realtime", {"uids": "500"})

    assert fresh.json()["realtime"]["500"]["s"] == 1
    assert stale.json()["realtime"]["500"]["s"] == 0


def test_realtime_in_scopes_and_pages(api, signals):
    assert api.get("/v1/devices/500/realtime").json()["realtime"].keys() == {"500", "501", "502"}
    assert api.get("/v1/loads/500/realtime", {"limit": 1, "page": 2}).json()["realtime"].keys() == {"501"}


def test_realtime_needs_a_fixed_number_of_queries_for_any_number_of_signals(
    api, signals, django_assert_max_num_queries
):
    organization = Organization.objects.get(slug="demo")
    load = LoadFactory(device=DeviceFactory(organization=organization, uid=600), uid=600)
    for uid in range(600, 650):
        SignalFactory(load=load, uid=uid, series=SeriesFactory(organization=organization))

    with django_assert_max_num_queries(6):
        response = api.get("/v1/devices/600/realtime")

    assert len(response.json()["realtime"]) == 50


def test_another_organizations_values_are_never_shown(api, other_api, signals):
    assert other_api.get("/v1/signals/500/history").status_code == 404
    assert other_api.get("/v1/history", {"uids": "500"}).json() == {"history": {}}
    assert other_api.get("/v1/realtime", {"uids": "500"}).json() == {"realtime": {}}
    assert other_api.get("/v1/devices/500/realtime").status_code == 404
    assert other_api.get("/v1/history/last", {"uids": "500"}).json() == {"history": {}}
    # Same uid in both organizations: each sees its own signal 100 and its own samples.
    now_ms = int(time.time() * 1000)
    for slug, value in (("demo", 230.5), ("other", 231.5)):
        series_id = Signal.objects.get(organization__slug=slug, uid=100).series_id
        write(SampleBatch([series_id], [now_ms], [value]), Policy.OVERWRITE)
    mine = api.get("/v1/realtime", {"uids": "100"}).json()["realtime"]["100"]
    theirs = other_api.get("/v1/realtime", {"uids": "100"}).json()["realtime"]["100"]
    assert (mine["uid"], mine["v"], mine["t"]) == (100, 230.5, now_ms)
    assert (theirs["uid"], theirs["v"], theirs["t"]) == (100, 231.5, now_ms)


def test_samples_stored_outside_years_1_to_9999_are_shown_as_the_integers_they_are(api, signals):
    # Given signal 501's series holding samples no write accepts any more, as older rows or a
    # hand-written insert may: epoch seconds and milliseconds show any stored instant exactly, so
    # realtime and history show them instead of failing. (The one past year 9999 lies in the
    # future: stored, in the history, but not current.)
    store_unchecked(signals[501].series_id, [(BEFORE_THE_START_MS, 1.0), (PAST_THE_END_MS, 3.0)])
    period_end_s = (PAST_THE_END_MS // 60_000 + 1) * 60
    late = {"uid": 501, "t": PAST_THE_END_MS // 1000, "p": period_end_s, "v": 3.0, "max": 3.0, "min": 3.0}
    early_end_s = (BEFORE_THE_START_MS // 60_000 + 1) * 60
    early = {"uid": 501, "t": BEFORE_THE_START_MS // 1000, "p": early_end_s, "v": 1.0, "max": 1.0, "min": 1.0}

    realtime = api.get("/v1/realtime", {"uids": "501"})
    history = api.get("/v1/history", {"uids": "501", "start": 0, "end": PAST_THE_END_MS + 1})
    last = api.get("/v1/history/last", {"uids": "501"})

    assert realtime.status_code == history.status_code == last.status_code == 200
    assert {k: realtime.json()["realtime"]["501"][k] for k in ("v", "t")} == {
        "v": 1.0,
        "t": BEFORE_THE_START_MS,
    }
    assert history.json() == {"history": {"501": [{**late, "d": 0}]}}
    assert last.json() == {"history": {"501": {**early, "d": 0.0}}}


def test_history_last_is_the_newest_sample_at_or_before_now_not_a_future_one(api, signals):
    # Given signal 501 with a sample a minute ago and one dated tomorrow (stored, not yet current).
    now_ms = time.time_ns() // 1_000_000
    minute_ago, tomorrow = now_ms - 60_000, now_ms + 86_400_000
    store_unchecked(signals[501].series_id, [(minute_ago, 1.0), (tomorrow, 9.0)])

    last = api.get("/v1/history/last", {"uids": "501"})

    assert last.status_code == 200
    record = last.json()["history"]["501"]
    assert (record["v"], record["t"]) == (1.0, minute_ago // 1000)


@pytest.mark.parametrize(
    ("previous", "value", "delta"),
    [
        (10.3, 10.4, 0.1),  # 0.09999999999999964 in binary
        (0.3, 0.1, -0.2),  # -0.19999999999999998
        (1_000_000.3, 1_000_000.4, 0.1),  # a meter counter: 0.10000000009313226
        (123_456_788.001, 123_456_789.123, 1.122),  # 1.1219999939203262
        (0.1, 0.1, 0.0),
        (1.5, 2.75, 1.25),  # exact in binary: unchanged
        (-2.0e20, 3.0e20, 5.0e20),
    ],
)
def test_history_deltas_of_decimal_readings_are_decimal(api, signals, previous, value, delta):
    series_id = signals[501].series_id
    write(SampleBatch([series_id] * 2, [BASE_MS, BASE_MS + 60_000], [previous, value]), Policy.OVERWRITE)

    history = api.get("/v1/history", {"uids": "501", **WINDOW}).json()["history"]["501"]
    last = api.get("/v1/history/last", {"uids": "501"}).json()["history"]["501"]

    assert [record["d"] for record in history] == [0, delta]
    assert last["d"] == delta
    assert [record["v"] for record in history] == [previous, value]  # values are not rounded
