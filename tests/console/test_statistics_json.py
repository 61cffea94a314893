"""GET /admin/analytics/statistics.json: the statistics the console reads (docs/energy.md)."""

from datetime import UTC, datetime

import pytest

from apps.tenancy.services import membership_grant
from apps.timeseries.models import VirtualSource
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/analytics/statistics.json"
Q = 900_000


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def put(series, ts, values):
    write(SampleBatch([series.pk] * len(ts), list(ts), list(values)), Policy.OVERWRITE)


def query(*series, start="2024-01-01", end="2024-01-03", bucket="day", **other) -> str:
    params = [f"series={one.pk if hasattr(one, 'pk') else one}" for one in series]
    params += [
        f"{k}={v}"
        for k, v in {"start": start, "end": end, "bucket": bucket, **other}.items()
        if v is not None
    ]
    return f"{URL}?{'&'.join(params)}"


@pytest.fixture
def meter(org):
    site = SiteFactory(organization=org, name="Hall", time_zone="Europe/Berlin")
    meter = SeriesFactory(organization=org, site=site, name="Main", kind="counter", unit="kWh")
    # 2024-01-01 in Berlin: 100 -> 110 -> 125; 2024-01-02: 130
    put(
        meter,
        [ms(2023, 12, 31, 23), ms(2024, 1, 1, 12), ms(2024, 1, 1, 22, 59), ms(2024, 1, 1, 23)],
        [100, 110, 125, 130],
    )
    return meter


def test_the_statistics_of_two_series_per_local_day(manager_client, org, meter):
    power = SeriesFactory(organization=org, name="Power", unit="kW")
    put(power, [ms(2024, 1, 2, 6), ms(2024, 1, 2, 7)], [2.0, 5.0])

    response = manager_client.get(query(meter, power))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "bucket": "day",
        "series": [
            {
                "id": meter.pk,
                "name": "Main",
                "kind": "counter",
                "unit": "kWh",
                "zone": "Europe/Berlin",
                "buckets": [
                    {
                        "start": "2024-01-01T00:00:00+01:00",
                        "count": 3,
                        "total": 25.0,
                        "mean": 335 / 3,
                        "min": 100.0,
                        "max": 125.0,
                    },
                    {
                        "start": "2024-01-02T00:00:00+01:00",
                        "count": 1,
                        "total": 5.0,
                        "mean": 130.0,
                        "min": 130.0,
                        "max": 130.0,
                    },
                ],
            },
            {
                "id": power.pk,
                "name": "Power",
                "kind": "measurement",
                "unit": "kW",
                "zone": "UTC",
                "buckets": [
                    {
                        "start": "2024-01-01T00:00:00+00:00",
                        "count": 0,
                        "total": None,
                        "mean": None,
                        "min": None,
                        "max": None,
                    },
                    {
                        "start": "2024-01-02T00:00:00+00:00",
                        "count": 2,
                        "total": None,
                        "mean": 3.5,
                        "min": 2.0,
                        "max": 5.0,
                    },
                ],
            },
        ],
    }


def test_a_virtual_series_is_served_from_its_sources(manager_client, org, meter):
    sub = SeriesFactory(organization=org, kind="counter", unit="kWh")
    put(sub, [ms(2023, 12, 31, 23), ms(2024, 1, 1, 22)], [10, 14])
    rest = SeriesFactory(organization=org, site=meter.site, name="Rest", kind="virtual", unit="kWh")
    VirtualSource.objects.bulk_create(
        [VirtualSource(virtual=rest, source=meter), VirtualSource(virtual=rest, source=sub, coefficient=-1)]
    )

    body = manager_client.get(query(rest, end="2024-01-02")).json()

    assert body["series"] == [
        {
            "id": rest.pk,
            "name": "Rest",
            "kind": "virtual",
            "unit": "kWh",
            "zone": "Europe/Berlin",
            "buckets": [
                {
                    "start": "2024-01-01T00:00:00+01:00",
                    "count": 5,
                    "total": 21.0,
                    "mean": 335 / 3 - 12,
                    "min": None,
                    "max": None,
                }
            ],
        }
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "series", "series is required: one or more series ids"),
        ({"series": ["x"]}, "series", "series must be series ids, not 'x'"),
        ({"series": ["-1"]}, "series", "series must be series ids, not '-1'"),
        ({"start": None}, "start", "start is required (YYYY-MM-DD)"),
        ({"start": "2024-1-1"}, "start", "start must be a date, YYYY-MM-DD"),
        ({"start": "20240101"}, "start", "start must be a date, YYYY-MM-DD"),
        ({"start": "2024-02-30"}, "start", "start is not a date of the calendar"),
        ({"end": None}, "end", "end is required (YYYY-MM-DD)"),
        ({"end": "2024-01-01T00:00"}, "end", "end must be a date, YYYY-MM-DD"),
        ({"end": "2024-01-01"}, "end", "end must be after start"),
        ({"end": "2023-12-31"}, "end", "end must be after start"),
        (
            {"bucket": "fortnight"},
            "bucket",
            "bucket must be one of quarter_hour, hour, day, week, month, year, auto",
        ),
        (
            {"bucket": None},
            "bucket",
            "bucket must be one of quarter_hour, hour, day, week, month, year, auto",
        ),
        (
            {"bucket": "quarter_hour", "end": "2024-04-16"},
            "end",
            "the range holds more than 10,000 buckets a series: choose a shorter range or a longer bucket",
        ),
    ],
)
def test_a_bad_request_is_a_400_with_a_message(manager_client, meter, params, field, message):
    series = params.pop("series", None)
    url = query(*(series if series is not None else [] if params == {} else [meter]), **params)

    response = manager_client.get(url)

    assert response.status_code == 400
    assert response.json() == {"error": message, "field": field}


def test_at_most_50_series_a_request(manager_client, org):
    fifty = [SeriesFactory(organization=org) for _ in range(50)]

    assert manager_client.get(query(*fifty)).status_code == 200
    response = manager_client.get(query(*fifty, SeriesFactory(organization=org)))

    assert response.status_code == 400
    assert response.json() == {"error": "at most 50 series a request", "field": "series"}


def test_at_most_10000_buckets_a_series(manager_client, meter):
    response = manager_client.get(query(meter, start="2024-01-01", end="2024-04-14", bucket="quarter_hour"))

    assert response.status_code == 200
    assert len(response.json()["series"][0]["buckets"]) == 9_980  # 104 days, one of them 23 hours long


def test_another_organizations_series_is_not_found(manager_client, meter, other_org):
    theirs = SeriesFactory(organization=other_org)

    for missing in (theirs.pk, theirs.pk + 1000):
        response = manager_client.get(query(meter, missing))
        assert response.status_code == 404
        assert response.json() == {"error": f"series {missing} not found", "field": "series"}


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, org, meter):
    assert client.get(query(meter)).status_code == 302
    member = UserFactory(is_staff=False)
    membership_grant(user=member, organization=org, role_slugs=["facility-manager"])
    client.force_login(member)

    response = client.get(query(meter))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_who_may_view_no_series_are_refused(client, org, meter):
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["api"])
    client.force_login(user)

    response = client.get(query(meter))

    assert response.status_code == 403
    assert response.json() == {"error": "you may not view series"}


def test_only_get(manager_client, meter):
    assert manager_client.post(query(meter)).status_code == 405


def test_a_virtual_series_defined_in_terms_of_itself_is_a_400(manager_client, org):
    first, second = (SeriesFactory(organization=org, kind="virtual") for _ in range(2))
    # Two definitions saved at once could make what the admin refuses for each alone.
    VirtualSource.objects.bulk_create(
        [VirtualSource(virtual=first, source=second), VirtualSource(virtual=second, source=first)]
    )

    response = manager_client.get(query(first))

    assert response.status_code == 400
    assert response.json() == {
        "error": f"virtual series {first.pk} is defined in terms of itself",
        "field": "series",
    }


@pytest.mark.parametrize(
    ("start", "end", "chosen"),
    [
        ("2024-01-01", "2024-01-05", "quarter_hour"),  # 4 days: at most 400 quarter-hours
        ("2024-01-01", "2024-01-06", "hour"),
        ("2024-01-01", "2024-01-17", "hour"),  # 16 days: at most 400 hours
        ("2024-01-01", "2024-01-18", "day"),
        ("2023-01-01", "2024-01-01", "day"),  # a year
        ("2020-01-01", "2024-01-01", "week"),
        ("2000-01-01", "2024-01-01", "month"),
    ],
)
def test_an_auto_bucket_is_the_finest_that_keeps_the_range_within_400(
    manager_client, org, start, end, chosen
):
    power = SeriesFactory(organization=org, unit="kW")

    body = manager_client.get(query(power, start=start, end=end, bucket="auto")).json()

    assert body["bucket"] == chosen
    assert len(body["series"][0]["buckets"]) <= 400


def test_an_auto_bucket_answers_the_buckets_of_the_size_it_chose(manager_client, org, meter):
    body = manager_client.get(query(meter, start="2024-01-01", end="2024-01-02", bucket="auto")).json()

    assert body["bucket"] == "quarter_hour"
    buckets = body["series"][0]["buckets"]
    assert len(buckets) == 96
    assert buckets[0]["start"] == "2024-01-01T00:00:00+01:00"
    assert buckets[-1]["start"] == "2024-01-01T23:45:00+01:00"
    assert sum(one["total"] or 0 for one in buckets) == 25.0
