"""Small worlds: the few objects a test of one dialect needs, built from the factories, with the
vendors' example ids and names written out here (not taken from the demo seed).

`world(slug, parts)` returns a dict shaped like the one `seed_demo --json` prints, holding only
the parts asked for, so a test reads the credentials the same way whichever world it runs on.
Unlike the demo it writes no samples, no meter data, no load profile and no site: a test that
needs samples writes them itself.

The fixtures `world` and `other_world` (tests/conftest.py) build the organizations "demo" and
"other" with the parts `world_parts` names: every part by default, one dialect's in that
dialect's directory (tests/api/<dialect>/conftest.py); a test that needs other parts names them
with a marker, e.g. `@pytest.mark.world("blynk", "gavazzi")`.

The parts:
- "ems": the gateway login (Carlo Gavazzi EMS): a staff user holding facility-manager,
  token-administrator and api (the demo admin's roles).
- "gavazzi": the Carlo Gavazzi example tree: device 1 "Main meter" (meterBus, load 2 "Main" with
  signals 3, 4, 5), device 59 "EM1", device 82 "Sub meter" (load 83 "Sub", signals 100, 101).
- "iotorq": an API key of the ems user and the variables `my_meter_code1`, `my_meter_code2`
  (the series of signals 3 and 4).
- "blynk": an OAuth client "<slug>-blynk", a Blynk user owning device 1, devices 1 and 101 with
  datastreams 1 (v1 "Temperature") and 2 (v2 "Humidity"); device 1's datastreams share the series
  of signals 100 and 101.
- "buildingx": an OAuth client "<slug>-buildingx", a partition and one point (the series of
  signal 5, kWh).
"""

import uuid
from typing import Any

from apps.access.models import Dialect
from apps.inventory.models import Protocol, ValueType
from apps.tenancy.services import membership_grant
from apps.timeseries.models import SeriesKind
from tests.factories import (
    ApiTokenFactory,
    DataStreamFactory,
    DeviceFactory,
    LoadFactory,
    OAuthClientFactory,
    OrganizationFactory,
    PartitionFactory,
    PointFactory,
    ProductFactory,
    SeriesFactory,
    SignalFactory,
    UserFactory,
)

ALL = frozenset({"ems", "gavazzi", "iotorq", "blynk", "buildingx"})

# The vendor's EMS login example; only the organization "demo" uses it.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "s3cret!"
EMAIL_DOMAIN = "demo.example"
ADMIN_ROLES = ["facility-manager", "token-administrator", "api"]
BLYNK_ROLES = ["blynk-device-owner"]
BLYNK_PASSWORD = "blynk-pass-1"
# The gateway identity of the vendor's example (organization "demo").
DEMO_SN = "EMS10AV5S1X0001"
DEMO_MAC = "00:1A:2B:3C:4D:5E"
# The Carlo Gavazzi example's meterBus configuration of load 2.
METERBUS_MAIN_CONFIG = {
    "main": True,
    "system": 0,
    "ct": 10,
    "currentDirections": 0,
    "digitalInputMode": 0,
    "digitalOutputMode": 0,
    "digitalOutputModeNcNo": 0,
    "measureType": 0,
    "startUpCurrentRH": 10,
}
# uid: (si, unit, series name, meter code, series kind)
SIGNALS = {
    3: (31, "kW", "Main active power", "my_meter_code1", SeriesKind.MEASUREMENT),
    4: (32, "var", "Main reactive power", "my_meter_code2", SeriesKind.MEASUREMENT),
    5: (33, "kWh", "Main active energy", None, SeriesKind.COUNTER),
    100: (29, "V", "Sub meter voltage", None, SeriesKind.MEASUREMENT),
    101: (30, "A", "Sub meter current", None, SeriesKind.MEASUREMENT),
}
DATASTREAMS = ((1, "v1", "Temperature"), (2, "v2", "Humidity"))
# Device 101's own datastream series: stream id -> (name, unit).
SENSOR_SERIES = {1: ("Room sensor temperature", "°C"), 2: ("Room sensor humidity", "%")}


def partition_uuid(slug: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ems-test/{slug}/partition")


def point_uuid(slug: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ems-test/{slug}/point")


def world(slug: str = "demo", parts=ALL) -> dict[str, Any]:
    """The organization `slug` with `parts` (see the module); its credentials as a dict."""
    parts = set(parts)
    if parts & {"gavazzi", "iotorq"}:
        parts.add("ems")
    default = slug == "demo"
    organization = OrganizationFactory(
        slug=slug,
        name="Demo Facility" if default else f"Demo Facility ({slug})",
        sn=DEMO_SN if default else "",
        mac=DEMO_MAC if default else "",
    )
    result: dict[str, Any] = {"organization": {"slug": slug, "name": organization.name}, "objects": {}}
    objects = result["objects"]
    objects["organization"] = organization
    series: dict[Any, Any] = {}

    def signal_series(uid: int):
        if uid not in series:
            _si, unit, name, meter_code, kind = SIGNALS[uid]
            series[uid] = SeriesFactory(
                organization=organization, name=name, meter_code=meter_code, unit=unit, kind=kind
            )
        return series[uid]

    if "ems" in parts:
        username = ADMIN_USERNAME if default else f"{slug}-admin"
        password = ADMIN_PASSWORD if default else f"{slug}-pass-1"
        admin = UserFactory(
            username=username, email=f"{username}@{EMAIL_DOMAIN}", is_staff=True, password=password
        )
        membership_grant(user=admin, organization=organization, role_slugs=ADMIN_ROLES)
        objects["admin"] = admin
        result["admin"] = {"username": username, "password": password}
        result["ems"] = {"username": username, "password": password}

    devices: dict[int, Any] = {}
    if parts & {"gavazzi", "blynk"}:
        blynk_user = None
        if "blynk" in parts:
            username = f"blynk@{EMAIL_DOMAIN}" if default else f"{slug}-blynk@{EMAIL_DOMAIN}"
            blynk_user = UserFactory(username=username, password=BLYNK_PASSWORD)
            membership_grant(user=blynk_user, organization=organization, role_slugs=BLYNK_ROLES)
            objects["blynk_user"] = blynk_user
        product = ProductFactory(
            organization=organization,
            name="Demo product",
            datastream_template=[
                {"stream_id": stream_id, "pin": pin, "label": label, "value_type": ValueType.DOUBLE}
                for stream_id, pin, label in DATASTREAMS
            ],
        )
        devices[1] = DeviceFactory(
            organization=organization,
            uid=1,
            label="Main meter",
            part_number="EMS10AV5S1X",
            system="1P",
            protocol=Protocol.METERBUS,
            owner=blynk_user,
            product=product,
        )
    if "gavazzi" in parts:
        devices[59] = DeviceFactory(
            organization=organization,
            uid=59,
            label="EM1",
            part_number="EM24_E1",
            system="1P",
            protocol=Protocol.RTU,
        )
        devices[82] = DeviceFactory(
            organization=organization,
            uid=82,
            label="Sub meter",
            part_number="EM24_E1",
            system="1P",
            protocol=Protocol.RTU,
        )
        main = LoadFactory(
            device=devices[1], uid=2, label="Main", config={Protocol.METERBUS.value: METERBUS_MAIN_CONFIG}
        )
        sub = LoadFactory(device=devices[82], uid=83, label="Sub")
        for uid, load in ((3, main), (4, main), (5, main), (100, sub), (101, sub)):
            si, unit, *_ = SIGNALS[uid]
            SignalFactory(load=load, uid=uid, si=si, unit=unit, series=signal_series(uid))
    if "blynk" in parts:
        devices[101] = DeviceFactory(
            organization=organization,
            uid=101,
            label="Room sensor",
            protocol=Protocol.VIRTUAL,
            product=product,
        )
        for stream_id, pin, label in DATASTREAMS:
            DataStreamFactory(
                device=devices[1],
                stream_id=stream_id,
                pin=pin,
                label=label,
                alias=label,
                value_type=ValueType.DOUBLE,
                series=signal_series({1: 100, 2: 101}[stream_id]),
            )
            name, unit = SENSOR_SERIES[stream_id]
            DataStreamFactory(
                device=devices[101],
                stream_id=stream_id,
                pin=pin,
                label=label,
                alias=label,
                value_type=ValueType.DOUBLE,
                series=SeriesFactory(organization=organization, name=name, unit=unit),
            )
        client = OAuthClientFactory(
            organization=organization,
            dialect=Dialect.BLYNK,
            name="Demo Blynk client",
            client_id=f"{slug}-blynk",
        )
        result["blynk"] = {
            "client_id": client.credential.client_id,
            "client_secret": client.secret,
            "device_ids": [1, 101],
            "datastream_ids": [1, 2],
            "user": {
                "username": blynk_user.username,
                "password": BLYNK_PASSWORD,
                "owns": [1],
                "permissions": ["OWN_DEVICES_VIEW"],
            },
        }
    objects["devices"] = devices

    if "iotorq" in parts:
        token = ApiTokenFactory(organization=organization, user=objects["admin"], name="Demo token")
        result["iotorq"] = {
            "token": token.secret,
            "meter_codes": ["my_meter_code1", "my_meter_code2"],
            "variable_ids": [signal_series(3).pk, signal_series(4).pk],
        }

    if "buildingx" in parts:
        partition = PartitionFactory(
            organization=organization, uuid=partition_uuid(slug), name="Demo building"
        )
        point = PointFactory(
            partition=partition,
            uuid=point_uuid(slug),
            name="Main meter energy",
            unit="kWh",
            series=signal_series(5),
        )
        client = OAuthClientFactory(
            organization=organization,
            dialect=Dialect.BUILDINGX,
            name="Demo Building X client",
            client_id=f"{slug}-buildingx",
        )
        result["buildingx"] = {
            "client_id": client.credential.client_id,
            "client_secret": client.secret,
            "partition_id": str(partition.uuid),
            "point_id": str(point.uuid),
        }
    objects["series"] = series
    return result
