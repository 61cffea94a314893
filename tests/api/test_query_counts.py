"""The number of queries of every list endpoint, generated from the URL enumeration
(tests/api/endpoints.py, as the isolation matrix) and pinned: a read that grows a query per row
(an N+1) fails here, whatever the number of rows the world holds.

A list endpoint is a GET action that reads query parameters (has a FilterSet). Each is asked
twice: on the world organization, and after every collection it reads has grown (devices, loads,
signals, datastreams, samples, in and out of the path's scope). Both answers must be 200 and take
the pinned number of queries. The statement-timeout statements around every request on
PostgreSQL (apps/api/common/timeout.py) are left out of the count, so the pins hold on both
databases. Each request is made once beforehand, so caches (a history's row count) are warm in
both rounds alike.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.inventory.models import DataStream, Device, Load, Partition, Point, Protocol, Signal
from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.api.dialect_clients import tokens_for

from .endpoints import endpoints

NOW_MS = int(timezone.now().timestamp() * 1000)
BLYNK = "/api/v1/organization"
GROWTH = 5  # new objects of every kind, each with this many samples


def list_endpoints() -> list[tuple[str, str]]:
    return sorted(
        {
            (endpoint.method, endpoint.route)
            for endpoint in endpoints()
            if endpoint.method == "GET" and endpoint.action in endpoint.viewset.filtersets
        }
    )


# (credential, path, query) of each list endpoint: world identifiers inside the grown scopes.
def requests(seed: dict) -> dict[str, tuple[str, str, dict]]:
    point = seed["buildingx"]
    now = {"from": 0, "to": NOW_MS}
    return {
        "api/v2/organization/device/datastreams": (
            "blynk",
            "/api/v2/organization/device/datastreams",
            {"deviceId": 1},
        ),
        "api/v1/organization/device/datastreams/batch": (
            "blynk",
            f"{BLYNK}/device/datastreams/batch",
            {"deviceIds": "1,101"},
        ),
        "api/v1/organization/device/datastream/history": (
            "blynk",
            f"{BLYNK}/device/datastream/history",
            {"deviceId": 1, "dataStreamId": 1, **now},
        ),
        "ingest/partitions/{partitionId}/points/{pointId}/values": (
            "buildingx",
            f"/ingest/partitions/{point['partition_id']}/points/{point['point_id']}/values",
            {},
        ),
        **{
            route: ("ems", "/" + route.format(device_uid=1, load_uid=2, signal_uid=3), {})
            for route in (
                "v1/devices",
                "v1/devices/{device_uid}",
                "v1/devices/{device_uid}/loads",
                "v1/devices/{device_uid}/signals",
                "v1/devices/{device_uid}/realtime",
                "v1/devices/{device_uid}/history",
                "v1/devices/{device_uid}/history/last",
                "v1/loads",
                "v1/loads/{load_uid}",
                "v1/loads/{load_uid}/signals",
                "v1/loads/{load_uid}/realtime",
                "v1/loads/{load_uid}/history",
                "v1/loads/{load_uid}/history/last",
                "v1/signals",
                "v1/signals/{signal_uid}",
                "v1/signals/{signal_uid}/history",
                "v1/realtime",
                "v1/history",
                "v1/history/last",
            )
        },
    }


# Queries of each list endpoint, authentication included.
PINNED = {
    "api/v1/organization/device/datastream/history": 4,
    "api/v1/organization/device/datastreams/batch": 3,
    "api/v2/organization/device/datastreams": 3,
    "ingest/partitions/{partitionId}/points/{pointId}/values": 3,
    "v1/devices": 3,
    "v1/devices/{device_uid}": 3,
    "v1/devices/{device_uid}/history": 5,
    "v1/devices/{device_uid}/history/last": 5,
    "v1/devices/{device_uid}/loads": 4,
    "v1/devices/{device_uid}/realtime": 4,
    "v1/devices/{device_uid}/signals": 4,
    "v1/history": 4,
    "v1/history/last": 4,
    "v1/loads": 3,
    "v1/loads/{load_uid}": 3,
    "v1/loads/{load_uid}/history": 5,
    "v1/loads/{load_uid}/history/last": 5,
    "v1/loads/{load_uid}/realtime": 4,
    "v1/loads/{load_uid}/signals": 4,
    "v1/realtime": 3,
    "v1/signals": 3,
    "v1/signals/{signal_uid}": 3,
    "v1/signals/{signal_uid}/history": 4,
}


def _samples(series: Series) -> None:
    stamps = [NOW_MS - 60_000 * (i + 1) - 7 for i in range(GROWTH)]
    write(SampleBatch([series.pk] * GROWTH, stamps, [float(i) for i in range(GROWTH)]), Policy.OVERWRITE)


def grow(org: Organization) -> None:
    """More of everything the list endpoints read, in the scopes of their paths and beside them."""

    def series(name: str) -> Series:
        made = Series.objects.create(organization=org, name=name)
        _samples(made)
        return made

    device_1, load_2 = Device.objects.get(organization=org, uid=1), Load.objects.get(organization=org, uid=2)
    for n in range(GROWTH):
        device = Device.objects.create(
            organization=org, uid=8000 + n, label=f"Grown {n}", protocol=Protocol.RTU
        )
        load = Load.objects.create(organization=org, device=device, uid=8100 + n, label=f"Grown {n}")
        Signal.objects.create(organization=org, load=load, uid=8200 + n, si=29, series=series(f"Grown {n}"))
        extra_load = Load.objects.create(organization=org, device=device_1, uid=8300 + n, label=f"Extra {n}")
        Signal.objects.create(
            organization=org, load=extra_load, uid=8400 + n, si=29, series=series(f"Extra {n}")
        )
        Signal.objects.create(organization=org, load=load_2, uid=8500 + n, si=30, series=series(f"Main {n}"))
        DataStream.objects.create(
            organization=org,
            device=device_1,
            stream_id=100 + n,
            pin=f"v{100 + n}",
            label=f"Grown {n}",
            series=series(f"Stream {n}"),
        )
    for partition in Partition.objects.filter(organization=org):
        for point in Point.objects.filter(partition=partition).select_related("series"):
            _samples(point.series)
    for stream in DataStream.objects.filter(device=device_1, stream_id=1).select_related("series"):
        _samples(stream.series)
    for signal in Signal.objects.filter(organization=org, uid=3).select_related("series"):
        _samples(signal.series)


def first_samples(org: Organization) -> None:
    """An hour-old sample on each series a list endpoint reads (the point, datastream 1 of device
    1, signal 3), so that the first round reads samples too."""
    series_ids = [
        *Point.objects.filter(organization=org).values_list("series_id", flat=True),
        *DataStream.objects.filter(device__organization=org, device__uid=1, stream_id=1).values_list(
            "series_id", flat=True
        ),
        *Signal.objects.filter(organization=org, uid=3).values_list("series_id", flat=True),
    ]
    write(
        SampleBatch(series_ids, [NOW_MS - 3_600_000] * len(series_ids), [1.0] * len(series_ids)),
        Policy.OVERWRITE,
    )


def count(client: APIClient, path: str, query: dict) -> int:
    client.get(path, query)  # warm caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, query)
    assert response.status_code == 200, (path, response.content)
    return sum("statement_timeout" not in query["sql"] for query in captured.captured_queries)


def test_every_list_endpoint_has_a_request_and_a_pin(world):
    routes = {route for _method, route in list_endpoints()}

    assert sorted(routes ^ set(requests(world))) == []
    assert sorted(routes ^ set(PINNED)) == []


@pytest.mark.parametrize(("method", "route"), list_endpoints())
def test_the_queries_of_a_list_endpoint_do_not_grow_with_its_rows(world, method, route):
    tokens = tokens_for(world)
    kind, path, query = requests(world)[route]
    client = APIClient(HTTP_AUTHORIZATION=tokens.header(kind))

    first_samples(Organization.objects.get(slug="demo"))
    before = count(client, path, query)
    grow(Organization.objects.get(slug="demo"))
    after = count(client, path, query)

    assert (before, after) == (PINNED[route], PINNED[route])
