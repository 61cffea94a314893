"""The isolation matrix: organization B's credentials on organization A's identifiers, for every
endpoint of every dialect.

A is the `world` organization, B `other_world`: the same uids and structure, their own credentials.
A also gets objects whose identifiers B does not have (device 7001 with datastream 7, load 7002,
signal 7003, a partition and point, a meter code, an import job, a refresh token). Every probe
asks for A's object with B's credentials and for an object that exists nowhere, and the two
answers must be the same (status and body, the identifier aside): another organization's object
is answered exactly like a missing one. List endpoints must leave A's objects out. Afterwards
nothing of A may have changed.

The endpoints are enumerated from the URL configuration (every view of `apps.api`), so a new
endpoint without an entry here fails the test.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import ApiToken, OAuthClient, RefreshToken
from apps.imports.models import ImportJob
from apps.inventory.models import DataStream, Device, DeviceImportDay, Load, Partition, Point, Signal
from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.api.dialect_clients import Tokens, basic

from .conftest import HTTP_METHODS, dialect_endpoints

NOW_MS = int(timezone.now().timestamp() * 1000)
MISSING_UID = 7999
BLYNK = "/api/v1/organization"


# --- the world: A's objects, B's clients ------------------------------------------------------


@dataclass
class World:
    a: dict  # identifiers of A's objects
    a_seed: dict
    b: Tokens

    def client(self, kind: str) -> APIClient:
        """A client holding B's credential `kind` (see Tokens)."""
        return APIClient(HTTP_AUTHORIZATION=self.b.header(kind))


@pytest.fixture
def world(world, tokens_b, django_capture_on_commit_callbacks) -> World:
    """A's extra objects, none of whose identifiers B has."""
    org = Organization.objects.get(slug="demo")
    series = Series.objects.create(organization=org, name="Only A", meter_code="only-a-meter")
    write(
        SampleBatch([series.pk] * 3, [NOW_MS - 3000, NOW_MS - 2000, NOW_MS - 1000], [1.0, 2.0, 3.0]),
        Policy.OVERWRITE,
    )
    device = Device.objects.create(organization=org, uid=7001, label="Only A", protocol="rtu")
    DataStream.objects.create(
        organization=org,
        device=device,
        stream_id=7,
        pin="v7",
        label="Only A",
        series=series,
        value=3.0,
        value_updated_at=timezone.now(),
        properties={"color": "#FF0000"},
    )
    load = Load.objects.create(organization=org, device=device, uid=7002, label="Only A")
    Signal.objects.create(organization=org, load=load, uid=7003, si=29, series=series)
    partition = Partition.objects.create(organization=org, name="Only A")
    point = Point.objects.create(organization=org, partition=partition, name="Only A", series=series)
    with django_capture_on_commit_callbacks(execute=True):
        job = APIClient(HTTP_AUTHORIZATION=f"Token {world['iotorq']['token']}").post(
            "/ems/api/import/",
            [{"id_type": "meter_code", "id_value": "only-a-meter", "series": {"datetime": [5], "val": [5]}}],
            format="json",
        )
    assert job.status_code == 202, job.content
    refresh = APIClient(
        HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"])
    )
    refresh = refresh.post("/oauth2/token?grant_type=client_credentials")
    assert refresh.status_code == 200, refresh.content
    return World(
        a={
            "series": series.pk,
            "meter_code": series.meter_code,
            "partition": str(partition.uuid),
            "point": str(point.uuid),
            "demo_partition": world["buildingx"]["partition_id"],
            "demo_point": world["buildingx"]["point_id"],
            "job": job.json()["job"],
            "refresh_token": refresh.json()["refresh_token"],
            "sn": org.sn,
            "mac": org.mac,
        },
        a_seed=world,
        b=tokens_b,
    )


def a_snapshot() -> dict:
    """Everything of A the API could change: samples per series, current values and properties,
    configuration, jobs, credentials' usage and quotas."""
    org = Organization.objects.get(slug="demo")
    series_ids = list(Series.objects.filter(organization=org).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        # Every sample itself: an aggregate such as SUM(value) is not exact across scan orders.
        cursor.execute(
            "SELECT series_id, ts, value, quality FROM timeseries_sample"
            f" WHERE series_id IN ({', '.join(['%s'] * len(series_ids))})"
            " ORDER BY series_id, ts",
            series_ids,
        )
        samples = cursor.fetchall()
    mine = {"organization": org}
    return {
        "samples": samples,
        "series": list(
            Series.objects.filter(**mine).values_list("pk", "meter_code", "last_ts", "last_value")
        ),
        "datastreams": list(
            DataStream.objects.filter(**mine).values_list(
                "pk", "label", "value", "value_updated_at", "properties", "series_id"
            )
        ),
        "devices": list(
            Device.objects.filter(**mine).values_list("pk", "uid", "label", "owner_id", "product_id")
        ),
        "loads": list(Load.objects.filter(**mine).values_list("pk", "uid", "label", "enable", "config")),
        "signals": list(Signal.objects.filter(**mine).values_list("pk", "uid", "enable", "series_id")),
        "points": list(Point.objects.filter(**mine).values_list("pk", "uuid", "series_id")),
        "partitions": list(Partition.objects.filter(**mine).values_list("pk", "uuid")),
        "jobs": list(
            ImportJob.objects.filter(**mine).values_list(
                "pk", "status", "points", "written", "error", "user_id"
            )
        ),
        "import_days": list(
            DeviceImportDay.objects.filter(device__organization=org).values_list("pk", "points")
        ),
        "api_tokens": list(ApiToken.objects.filter(**mine).values_list("pk", "last_used_at", "revoked_at")),
        "clients": list(
            OAuthClient.objects.filter(**mine).values_list(
                "pk", "secret_digest", "last_used_at", "revoked_at"
            )
        ),
        "refresh_tokens": list(
            RefreshToken.objects.filter(client__organization=org).values_list("pk", "used_at").order_by("pk")
        ),
        "organization": Organization.objects.filter(pk=org.pk).values_list("sn", "mac").get(),
    }


# --- assertions ---------------------------------------------------------------------------------


def _neutral(response, ids) -> tuple:
    body = response.content
    for ident in ids:
        body = body.replace(str(ident).encode(), b"<id>")
    return response.status_code, response.get("Content-Type"), body


def hidden(send: Callable, a_ids, missing_ids, status: int) -> None:
    """`send(*ids)` answers A's identifiers exactly as identifiers that exist nowhere, with `status`."""
    a_ids = a_ids if isinstance(a_ids, tuple) else (a_ids,)
    missing_ids = missing_ids if isinstance(missing_ids, tuple) else (missing_ids,)
    got, missing = send(*a_ids), send(*missing_ids)
    assert got.status_code == status, (got.status_code, got.content)
    assert _neutral(got, a_ids) == _neutral(missing, missing_ids), (got.content, missing.content)


def listed_without(response, key, *uids) -> None:
    """A 200 list answer (keyed by uid) that holds none of `uids`."""
    assert response.status_code == 200, response.content
    assert not {str(uid) for uid in uids} & set(response.json()[key]), response.content


# --- the matrix: one probe per (method, route) ---------------------------------------------------


def iotorq_import(path: str):
    def probe(w: World) -> None:
        api = w.client("iotorq")

        def send(id_type, value):
            item = {"id_type": id_type, "id_value": value, "series": {"datetime": [1], "val": [1.0]}}
            return api.post(path, [item], format="json")

        hidden(lambda code: send("meter_code", code), w.a["meter_code"], "no-such-meter", 400)
        hidden(lambda pk: send("pk", pk), w.a["series"], w.a["series"] + 10_000, 400)
        # B's own variable under a code A also has: B's series is written, A's is not (snapshot).
        assert send("meter_code", "my_meter_code1").status_code == 202

    return probe


def iotorq_job(w: World) -> None:
    api = w.client("iotorq")
    hidden(lambda job: api.get(f"/ems/api/import/{job}/"), w.a["job"], uuid.uuid4(), 404)


def blynk_token(w: World) -> None:
    b_client = APIClient(
        HTTP_AUTHORIZATION=basic(w.b.seed["blynk"]["client_id"], w.b.seed["blynk"]["client_secret"])
    )
    a_user = w.a_seed["blynk"]["user"]

    def login(username):
        return b_client.post(
            f"/oauth2/token?grant_type=user_credentials&username={username}&password={a_user['password']}"
        )

    # A's user, with A's own password, through B's client: unknown to B.
    hidden(login, a_user["username"], "nobody@world.example", 400)
    hidden(
        lambda token: b_client.post(f"/oauth2/token?grant_type=refresh_token&refresh_token={token}"),
        w.a["refresh_token"],
        "x" * len(w.a["refresh_token"]),
        400,
    )


def blynk_query(path: str, query: str):
    def probe(w: World) -> None:
        api = w.client("blynk")
        hidden(lambda uid: api.get(f"{path}?{query.format(uid=uid)}"), 7001, MISSING_UID, 404)

    return probe


def blynk_batch_values(w: World) -> None:
    api = w.client("blynk")
    response = api.get(f"{BLYNK}/device/datastreams/batch?deviceIds=7001")
    assert response.status_code == 200 and response.json() == [], response.content
    response = api.get(f"{BLYNK}/device/datastreams/batch?deviceIds=1,7001,101")
    assert [item["deviceId"] for item in response.json()] == [1, 101], response.content


def blynk_write(path: str, body: dict, status: int = 404, *, own: dict | None = None):
    def probe(w: World) -> None:
        api = w.client("blynk")
        hidden(
            lambda uid: api.post(
                path, {k: (uid if v == "<uid>" else v) for k, v in body.items()}, format="json"
            ),
            7001,
            MISSING_UID,
            status,
        )
        if own is not None:  # B's own device with a uid A has too: B's is written, A's not (snapshot)
            response = api.post(path, own, format="json")
            assert response.status_code == 204, response.content

    return probe


def blynk_batch_update(w: World) -> None:
    api = w.client("blynk")
    hidden(
        lambda uid: api.post(
            f"{BLYNK}/product/devices/batch-update",
            {"fields": ["deviceId", "Only A"], "updates": [[uid, 42]]},
            format="json",
        ),
        7001,
        MISSING_UID,
        400,
    )
    response = api.post(
        f"{BLYNK}/product/devices/batch-update",
        {"fields": ["deviceId", "Temperature"], "updates": [[1, 42], [7001, 43]]},
        format="json",
    )
    assert response.status_code == 200 and response.json()["deviceNotFound"] == 1, response.content


def buildingx_token(w: World) -> None:
    def send(client_id):
        body = {
            "client_id": client_id,
            "client_secret": w.b.seed["buildingx"]["client_secret"],
            "audience": "https://horizon.siemens.com",
            "grant_type": "client_credentials",
        }
        return APIClient().post("/oauth/token", body, format="json")

    hidden(send, w.a_seed["buildingx"]["client_id"], "nobody-buildingx", 401)


def buildingx_values(method: str):
    def probe(w: World) -> None:
        api = w.client("buildingx")
        body = {
            "data": [
                {"type": "PointValue", "attributes": {"timestamp": "2024-01-01T00:00:00Z", "value": "1"}}
            ]
        }

        def send(partition, point):
            path = f"/ingest/partitions/{partition}/points/{point}/values"
            if method == "get":
                return api.get(path)
            return api.post(path, body, format="json")

        missing = (uuid.uuid4(), uuid.uuid4())
        hidden(send, (w.a["partition"], w.a["point"]), missing, 404)
        hidden(send, (w.a["demo_partition"], w.a["demo_point"]), missing, 404)
        b_partition = w.b.seed["buildingx"]["partition_id"]
        hidden(lambda point: send(b_partition, point), w.a["point"], uuid.uuid4(), 404)

    return probe


def catch_all(path_for: Callable[[object], str], kind: str, method: str):
    def probe(w: World) -> None:
        api = w.client(kind)
        hidden(lambda uid: api.generic(method.upper(), path_for(uid)), 7001, MISSING_UID, 404)

    return probe


def ems_public_version(w: World) -> None:
    response = w.client("ems").get("/ver")
    assert response.status_code == 200 and response.json() == {"api_ver": 1}


def ems_login(w: World) -> None:
    def send(username):
        return APIClient().post(
            "/v1/auth/login", {"username": username, "password": w.b.seed["ems"]["password"]}, format="json"
        )

    hidden(send, w.a_seed["ems"]["username"], "nobody", 401)


def ems_identity(name: str):
    def probe(w: World) -> None:
        response = w.client("ems").get(f"/v1/{name}")
        assert response.status_code == 200, response.content
        assert response.json()[name] != w.a[name]

    return probe


def ems_list(path: str, key: str, uid: int):
    def probe(w: World) -> None:
        api = w.client("ems")
        response = api.get(f"{path}?uids={uid}")
        assert response.status_code == 200 and response.json() == {key: {}}, response.content
        listed_without(api.get(path), key, uid)

    return probe


def ems_scoped(template: str):
    def probe(w: World) -> None:
        api = w.client("ems")
        uid = {"device": 7001, "load": 7002, "signal": 7003}[template.split("/")[2].rstrip("s")]
        hidden(lambda x: api.get(template.format(x)), uid, MISSING_UID, 404)

    return probe


DEVICE, LOAD, SIGNAL = "{device_uid}", "{load_uid}", "{signal_uid}"
VALUE = {"deviceId": "<uid>", "dataStreamId": 7, "value": 42.0}

MATRIX: dict[tuple[str, str], Callable[[World], None]] = {
    # ioTORQ: variables by meter code and by id, jobs by id
    ("POST", "ems/api/import/"): iotorq_import("/ems/api/import/"),
    ("POST", "ems/api/import"): iotorq_import("/ems/api/import"),
    ("GET", "ems/api/import/{job_id}/"): iotorq_job,
    # Blynk
    ("POST", "oauth2/token"): blynk_token,
    ("GET", "api/v2/organization/device/datastreams"): blynk_query(
        "/api/v2/organization/device/datastreams", "deviceId={uid}"
    ),
    ("GET", "api/v1/organization/device/datastreams/batch"): blynk_batch_values,
    ("GET", "api/v1/organization/device/datastream/history"): blynk_query(
        f"{BLYNK}/device/datastream/history", f"deviceId={{uid}}&dataStreamId=7&from=0&to={NOW_MS}"
    ),
    ("POST", "api/v1/organization/device/datastream"): blynk_write(
        f"{BLYNK}/device/datastream", VALUE, own={"deviceId": 1, "dataStreamId": 1, "value": 42.0}
    ),
    ("POST", "api/v1/organization/device/datastreams"): blynk_write(
        f"{BLYNK}/device/datastreams",
        {"deviceId": "<uid>", "values": {"7": 42.0}},
        own={"deviceId": 1, "values": {"1": 43.0}},
    ),
    ("POST", "api/v1/organization/product/devices/batch-update"): blynk_batch_update,
    ("POST", "api/v1/organization/device/import/batch"): blynk_write(
        f"{BLYNK}/device/import/batch",
        {"deviceId": "<uid>", "dataStreamId": 7, "values": [{"value": 1.0, "ts": NOW_MS}]},
        own={"deviceId": 1, "dataStreamId": 1, "values": [{"value": 1.0, "ts": NOW_MS - 7}]},
    ),
    ("POST", "api/v1/organization/device/datastream/property"): blynk_write(
        f"{BLYNK}/device/datastream/property",
        {"deviceId": "<uid>", "dataStreamId": 7, "property": "label", "value": "Stolen"},
    ),
    **{
        (method.upper(), "^api/v[12]/organization/"): catch_all(
            lambda uid: f"{BLYNK}/device/{uid}", "blynk", method
        )
        for method in HTTP_METHODS
    },
    # Building X
    ("POST", "oauth/token"): buildingx_token,
    ("GET", "ingest/partitions/{partitionId}/points/{pointId}/values"): buildingx_values("get"),
    ("POST", "ingest/partitions/{partitionId}/points/{pointId}/values"): buildingx_values("post"),
    **{
        (method.upper(), "^ingest/"): catch_all(lambda uid: f"/ingest/partitions/{uid}", "buildingx", method)
        for method in HTTP_METHODS
    },
    # EMS gateway
    ("GET", "ver"): ems_public_version,
    ("POST", "v1/auth/login"): ems_login,
    ("GET", "v1/sn"): ems_identity("sn"),
    ("GET", "v1/mac"): ems_identity("mac"),
    ("GET", "v1/devices"): ems_list("/v1/devices", "devices", 7001),
    ("GET", f"v1/devices/{DEVICE}"): ems_scoped("/v1/devices/{}"),
    ("GET", "v1/loads"): ems_list("/v1/loads", "loads", 7002),
    ("GET", f"v1/loads/{LOAD}"): ems_scoped("/v1/loads/{}"),
    ("GET", f"v1/devices/{DEVICE}/loads"): ems_scoped("/v1/devices/{}/loads"),
    ("GET", "v1/signals"): ems_list("/v1/signals", "signals", 7003),
    ("GET", f"v1/signals/{SIGNAL}"): ems_scoped("/v1/signals/{}"),
    ("GET", f"v1/loads/{LOAD}/signals"): ems_scoped("/v1/loads/{}/signals"),
    ("GET", f"v1/devices/{DEVICE}/signals"): ems_scoped("/v1/devices/{}/signals"),
    ("GET", "v1/realtime"): ems_list("/v1/realtime", "realtime", 7003),
    ("GET", f"v1/loads/{LOAD}/realtime"): ems_scoped("/v1/loads/{}/realtime"),
    ("GET", f"v1/devices/{DEVICE}/realtime"): ems_scoped("/v1/devices/{}/realtime"),
    ("GET", "v1/history/last"): ems_list("/v1/history/last", "history", 7003),
    ("GET", f"v1/loads/{LOAD}/history/last"): ems_scoped("/v1/loads/{}/history/last"),
    ("GET", f"v1/devices/{DEVICE}/history/last"): ems_scoped("/v1/devices/{}/history/last"),
    ("GET", "v1/history"): ems_list("/v1/history", "history", 7003),
    ("GET", f"v1/loads/{LOAD}/history"): ems_scoped("/v1/loads/{}/history"),
    ("GET", f"v1/devices/{DEVICE}/history"): ems_scoped("/v1/devices/{}/history"),
    ("GET", f"v1/signals/{SIGNAL}/history"): ems_scoped("/v1/signals/{}/history"),
    ("GET", "^v1/.*$"): catch_all(lambda uid: f"/v1/devices/{uid}/unknown", "ems", "get"),
}


def test_the_matrix_names_every_endpoint_of_every_dialect():
    endpoints = dialect_endpoints()

    assert sorted(endpoints - set(MATRIX)) == [], "endpoints without an isolation probe"
    assert sorted(set(MATRIX) - endpoints) == [], "probes of endpoints that no longer exist"


def test_another_organizations_credentials_never_reach_an_organizations_objects(world):
    before = a_snapshot()
    failures = []

    for (method, route), probe in sorted(MATRIX.items()):
        try:
            probe(world)
        except AssertionError as exc:
            failures.append(f"{method} {route}: {exc}")

    assert failures == []
    assert a_snapshot() == before
