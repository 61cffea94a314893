"""A client generated with openapi-python-client from the schema the app serves, against the live
app: one operation of each dialect writes or reads, and what is read back is what was written
(issue #17). The generator's two bugs our schema used to trip (apps/api/common/schema_hooks.py)
would fail here: the Building X token module did not import, every EMS history operation raised."""

import base64
import importlib
import pkgutil
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from apps.inventory.models import Signal
from apps.timeseries.query import samples_after
from apps.timeseries.store import Policy, SampleBatch, write
from tests.api.dialect_clients import AUDIENCE

from .conftest import GENERATED

BASE_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z, a fixed moment in the past
BASE_S = BASE_MS // 1000
HOUR_MS = 3_600_000


def operation(tag: str, name: str):
    """The generated module of one operation (modules are named after the operation id, packages
    after the tag)."""
    return importlib.import_module(f"{GENERATED}.api.{tag}.{name}")


def series_of_signal(uid: int) -> int:
    return Signal.objects.get(organization__slug="demo", uid=uid).series_id


def test_every_generated_operation_module_imports(generated_client):
    api = importlib.import_module(f"{GENERATED}.api")
    names = [
        f"{tag.name}.{module.name}"
        for tag in pkgutil.iter_modules(api.__path__)
        for module in pkgutil.iter_modules(importlib.import_module(f"{GENERATED}.api.{tag.name}").__path__)
    ]

    for name in names:
        importlib.import_module(f"{GENERATED}.api.{name}")

    assert {name.split(".")[0] for name in names} == {"blynk", "building_x", "ems_gateway", "io_torq_emis"}
    assert len(names) == 37


def test_building_x_values_posted_by_the_generated_client_read_back_page_by_page(
    generated_client, live_server, live_world
):
    models = generated_client.models
    creds = live_world["buildingx"]
    point = (creds["partition_id"], creds["point_id"])
    token = operation("building_x", "oauth_token_post").sync(
        client=generated_client.Client(live_server.url, raise_on_unexpected_status=True),
        body=models.BuildingXTokenRequest(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            audience=AUDIENCE,
            grant_type=models.GrantTypeEnum.CLIENT_CREDENTIALS,
        ),
    )
    api = generated_client.AuthenticatedClient(
        live_server.url, token=token.access_token, raise_on_unexpected_status=True
    )
    written = [
        ("2020-01-01T00:00:00.125Z", "12.5", 0),
        ("2020-01-01T00:00:01.250Z", "-3.75", 1),
        ("2020-01-01T00:01:00.000Z", "1000.001", 2),
    ]
    body = models.BuildingXPointValues(
        data=[
            models.BuildingXPointValue(
                type_=models.TypeEnum.POINTVALUE,
                attributes=models.BuildingXPointValueAttributes(
                    timestamp=timestamp, value=value, quality_of_value=quality
                ),
            )
            for timestamp, value, quality in written
        ]
    )
    values = operation("building_x", "ingest_partitions_partition_id_points_point_id_values_get")
    window = {
        "filtertimestampgte": datetime.fromtimestamp(BASE_MS / 1000, tz=UTC),
        "filtertimestamplt": datetime.fromtimestamp((BASE_MS + HOUR_MS) / 1000, tz=UTC),
        "pagelimit": 2,
    }

    posted = operation(
        "building_x", "ingest_partitions_partition_id_points_point_id_values_post"
    ).sync_detailed(*point, client=api, body=body)
    first = values.sync(*point, client=api, **window)
    # The generated client cannot follow a link: the cursor is taken out of `links.next`.
    cursor = parse_qs(urlsplit(first.links.next_).query)["page[cursor]"][0]
    second = values.sync(*point, client=api, pagecursor=cursor, **window)

    assert (posted.status_code, posted.content) == (204, b"")
    assert (len(first.data), second.links.next_) == (2, None)
    read = [
        (
            resource.id,
            resource.attributes.timestamp,
            resource.attributes.value,
            resource.attributes.quality_of_value,
        )
        for resource in first.data + second.data
    ]
    assert read == [(timestamp, timestamp, value, quality) for timestamp, value, quality in written]


def test_ems_history_read_by_the_generated_client_carries_the_deltas(
    generated_client, live_server, live_world
):
    models = generated_client.models
    samples = [(5_000, 10.3), (65_000, 10.4), (125_000, 10.25)]
    write(
        SampleBatch([series_of_signal(3)] * 3, [BASE_MS + t for t, _ in samples], [v for _, v in samples]),
        Policy.OVERWRITE,
    )
    anonymous = generated_client.Client(live_server.url, raise_on_unexpected_status=True)
    login = operation("ems_gateway", "v1_auth_login_post").sync(
        client=anonymous,
        body=models.Login(username=live_world["ems"]["username"], password=live_world["ems"]["password"]),
    )
    api = generated_client.AuthenticatedClient(
        live_server.url, token=login.token, raise_on_unexpected_status=True
    )

    history = operation("ems_gateway", "v1_history_get").sync(
        client=api, uids="3", start=BASE_MS, end=BASE_MS + 180_000
    )

    records = history.history.additional_properties
    assert list(records) == ["3"]
    assert [record.to_dict() for record in records["3"]] == [
        {"uid": 3, "t": BASE_S + 5, "p": BASE_S + 60, "v": 10.3, "d": 0.0, "max": 10.3, "min": 10.3},
        {"uid": 3, "t": BASE_S + 65, "p": BASE_S + 120, "v": 10.4, "d": 0.1, "max": 10.4, "min": 10.4},
        {"uid": 3, "t": BASE_S + 125, "p": BASE_S + 180, "v": 10.25, "d": -0.15, "max": 10.25, "min": 10.25},
    ]


def test_an_iotorq_import_by_the_generated_client_is_stored_and_its_job_reported(
    generated_client, live_server, live_world
):
    models = generated_client.models
    api = generated_client.AuthenticatedClient(
        live_server.url, token=live_world["iotorq"]["token"], prefix="Token", raise_on_unexpected_status=True
    )
    timestamps, values = [BASE_MS, BASE_MS + 60_000], [-93.5, 17.25]
    body = [
        models.ImportItem(
            id_type=models.IdTypeEnum.METER_CODE,
            id_value="my_meter_code2",
            series=models.Series(datetime_=timestamps, val=values, time_unit=models.TimeUnitEnum.MS),
        )
    ]

    accepted = operation("io_torq_emis", "ems_api_import_post").sync_detailed(client=api, body=body)
    job = accepted.parsed
    status = operation("io_torq_emis", "ems_api_import_job_id_get")
    deadline = time.monotonic() + 10
    while (
        job.status not in (models.StatusEnum.DONE, models.StatusEnum.FAILED) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
        job = status.sync(accepted.parsed.job, client=api)
    job = status.sync(accepted.parsed.job, client=api)

    assert accepted.status_code == 202
    assert (accepted.parsed.variables, accepted.parsed.points) == (1, 2)
    assert (job.status, job.written, job.error) == (models.StatusEnum.DONE, 2, None)
    stored = samples_after(
        series_id=series_of_signal(4), start_ms=BASE_MS, end_ms=BASE_MS + HOUR_MS, limit=10
    )
    assert [(row[0], row[1]) for row in stored] == list(zip(timestamps, values, strict=True))


def test_a_blynk_value_set_by_the_generated_client_reads_back(generated_client, live_server, live_world):
    models = generated_client.models
    creds = live_world["blynk"]
    # The generator has one kind of credential, a token after a prefix: HTTP Basic is spelled so.
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    client = generated_client.AuthenticatedClient(
        live_server.url, token=basic, prefix="Basic", raise_on_unexpected_status=True
    )
    token = operation("blynk", "oauth2_token_post").sync(
        client=client, grant_type=models.Oauth2TokenPostGrantType.CLIENT_CREDENTIALS
    )
    api = generated_client.AuthenticatedClient(
        live_server.url, token=token.access_token, raise_on_unexpected_status=True
    )

    updated = operation("blynk", "api_v1_organization_device_datastream_post").sync_detailed(
        client=api, body=models.BlynkValueUpdate(device_id=101, data_stream_id=1, value=23.75)
    )
    read = operation("blynk", "api_v2_organization_device_datastreams_get").sync(
        client=api, device_id=101, data_stream_ids="1"
    )

    assert updated.status_code == 204
    assert [(value.data_stream_id, value.pin, value.value) for value in read] == [(1, "v1", 23.75)]
