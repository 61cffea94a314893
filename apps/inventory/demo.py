"""The demo organization: the objects the vendors' examples use, wired to one shared store.

`demo_seed` is what `manage.py seed_demo` runs. It is idempotent: every object is found by its
natural key (slug, username, uid, meter code, client id, a UUID derived from the slug) and brought
back to its demo state, so a second run creates nothing new. Credentials are the exception on
purpose: each run issues fresh ones (new passwords, a new ioTORQ token with the previous demo
tokens revoked, rotated client secrets under stable client ids), because the plaintext of the old
ones was never stored and cannot be shown again.

The meter series are shared across dialects, which is the point of the demo: data written as
ioTORQ variable `my_meter_code1` reads back as EMS signal 3. Every series measures one thing,
though: the Blynk datastreams "Temperature" and "Humidity" of device 1 (the main meter's room) and
of device 101 (the room sensor) are temperature and humidity series of their own, and the
Building X point (a supply air temperature, as in the vendor's quick-start values) is its own
series, so a vendor's quick-start never writes into an energy meter's series. The values on them
(and the day of one-minute samples) are demo_readings.py's; the year of 15-minute meters
demo_meters.py's.
"""

import secrets
import uuid
import zlib
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone

from apps.access.models import ApiToken, Dialect, OAuthClient
from apps.access.services import (
    api_token_issue,
    api_token_revoke,
    oauth_client_issue,
    oauth_client_secret_rotate,
)
from apps.core.exceptions import Invalid
from apps.tenancy.models import Membership, Organization, Role, Site
from apps.tenancy.selectors import membership_permissions
from apps.timeseries.models import Series, SeriesKind

from .demo_energy import demo_load_profile, demo_site
from .demo_meters import demo_meters, demo_warehouse
from .demo_readings import (
    MAIN_SIGNALS,
    METER_ROOM_SERIES,
    POINT_NAME,
    POINT_SERIES,
    SENSOR_SERIES,
    SUB_SIGNALS,
    demo_readings_write,
)
from .models import DataStream, Device, Load, Partition, Point, Product, Protocol, Signal, ValueType

DEFAULT_SLUG = "demo"
DEFAULT_NAME = "Demo Facility"
# The client ids "<slug>-buildingx" must fit OAuthClient.client_id (64 characters).
MAX_SLUG_LENGTH = 50
# The vendor's own example credentials (the EMS login example); only the default organization
# uses them, every other organization gets random passwords.
VENDOR_USERNAME = "admin"
VENDOR_PASSWORD = "s3cret!"  # noqa: S105
EMAIL_DOMAIN = "demo.example"
DEMO_KEY_NAME = "Demo token"
ADMIN_ROLES = ("facility-manager", "token-administrator", "api")
BLYNK_ROLES = ("blynk-device-owner",)
BLYNK_PERMISSIONS = ("OWN_DEVICES_VIEW", "ORG_DEVICES_VIEW", "ORG_DEVICES_CONTROL", "ORG_DEVICE_DATA_IMPORT")
# Stable UUIDs for the Building X partition and point, different per organization.
UUID_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4f57-9c1a-3b8e2d7f4a10")


# The vendor example's meterBus configuration of load 2.
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

DATASTREAMS = ((1, "v1", "Temperature"), (2, "v2", "Humidity"))


def demo_seed(*, slug: str = DEFAULT_SLUG, now: datetime | None = None) -> dict[str, Any]:
    """Create or reuse the demo organization `slug` and return fresh credentials for it.

    The result is the JSON document `seed_demo --json` prints (see the command's help). One
    durable transaction: either the whole demo is in place with the credentials returned, or
    nothing changed. Raises Invalid for a slug that is not a short slug, when the shipped roles
    are missing, or when a demo client id is taken by another organization.
    """
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise Invalid(f"{slug!r} is not a valid slug", field="slug") from exc
    if len(slug) > MAX_SLUG_LENGTH:
        raise Invalid(f"the slug is longer than {MAX_SLUG_LENGTH} characters", field="slug")
    with transaction.atomic(durable=True):
        return _seed(slug=slug, now=now or timezone.now())


def _seed(*, slug: str, now: datetime) -> dict[str, Any]:
    default = slug == DEFAULT_SLUG
    organization = _organization(slug)
    roles = _roles()

    admin_username = VENDOR_USERNAME if default else f"{slug}-admin"
    admin_password = VENDOR_PASSWORD if default else _password()
    admin = _user(admin_username, admin_password, email=f"{admin_username}@{EMAIL_DOMAIN}", staff=True)
    _membership(admin, organization, [roles[slug_] for slug_ in ADMIN_ROLES])

    blynk_username = f"blynk@{EMAIL_DOMAIN}" if default else f"{slug}-blynk@{EMAIL_DOMAIN}"
    blynk_password = _password()
    blynk_user = _user(blynk_username, blynk_password, email=blynk_username, staff=False)
    _membership(blynk_user, organization, [roles[slug_] for slug_ in BLYNK_ROLES])

    site = demo_site(organization)
    series = _series(organization, site=site)
    devices = _devices(organization, series=series, owner=blynk_user, site=site)
    partition, point = _building(organization, slug=slug, series=series["point"])
    last_minute = demo_readings_write(series, devices=devices, now=now)
    energy = next(wave for uid, _si, _unit, _name, _code, wave in MAIN_SIGNALS if uid == 5)
    demo_load_profile(organization, site=site, counter=energy.value, last_ms=last_minute)
    demo_meters(organization, building=site, warehouse=demo_warehouse(organization), now=now)

    token = _api_token(organization, admin)
    blynk_client = _oauth_client(organization, Dialect.BLYNK, f"{slug}-blynk", "Demo Blynk client")
    buildingx_client = _oauth_client(
        organization, Dialect.BUILDINGX, f"{slug}-buildingx", "Demo Building X client"
    )

    permissions = membership_permissions(user=blynk_user, organization=organization)
    return {
        "organization": {"slug": organization.slug, "name": organization.name},
        "admin": {"username": admin.username, "password": admin_password},
        "iotorq": {
            "token": token,
            "meter_codes": [series[3].meter_code, series[4].meter_code],
            "variable_ids": [series[3].pk, series[4].pk],
        },
        "blynk": {
            "client_id": blynk_client.credential.client_id,
            "client_secret": blynk_client.secret,
            "device_ids": [1, 101],
            "datastream_ids": [stream_id for stream_id, _, _ in DATASTREAMS],
            "user": {
                "username": blynk_user.username,
                "password": blynk_password,
                "owns": sorted(
                    blynk_user.owned_devices.filter(organization=organization).values_list("uid", flat=True)
                ),
                "permissions": sorted(p for p in permissions if p in BLYNK_PERMISSIONS),
            },
        },
        "buildingx": {
            "client_id": buildingx_client.credential.client_id,
            "client_secret": buildingx_client.secret,
            "partition_id": str(partition.uuid),
            "point_id": str(point.uuid),
        },
        "ems": {"username": admin.username, "password": admin_password},
    }


def _password() -> str:
    return secrets.token_urlsafe(12)


def _organization(slug: str) -> Organization:
    if slug == DEFAULT_SLUG:
        name, sn, mac = DEFAULT_NAME, "EMS10AV5S1X0001", "00:1A:2B:3C:4D:5E"
    else:
        # A gateway identity of its own, derived from the slug so that it is stable across runs.
        digest = zlib.crc32(slug.encode())
        name = f"{DEFAULT_NAME} ({slug})"
        sn = f"EMS10AV5S1X{digest % 10_000:04d}"
        mac = "02:1A:" + ":".join(f"{(digest >> shift) & 0xFF:02X}" for shift in (24, 16, 8, 0))
    organization, _ = Organization.objects.update_or_create(
        slug=slug, defaults={"name": name, "sn": sn, "mac": mac}
    )
    return organization


def _roles() -> dict[str, Role]:
    wanted = set(ADMIN_ROLES) | set(BLYNK_ROLES)
    roles = {role.slug: role for role in Role.objects.filter(slug__in=wanted)}
    missing = sorted(wanted - roles.keys())
    if missing:
        raise Invalid(
            f"the shipped roles {', '.join(missing)} are missing; run the migrations", field="roles"
        )
    return roles


def _user(username: str, password: str, *, email: str, staff: bool):
    """The demo user `username`, active, with `password` set now. Never a superuser: the demo's
    admin-site user sees what its roles grant, as a real facility manager would."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.email = email
    user.is_active = True
    user.is_staff = staff
    user.is_superuser = False
    user.set_password(password)
    user.save()
    return user


def _membership(user, organization: Organization, roles: list[Role]) -> Membership:
    """Exactly `roles` in `organization` (a re-run also removes roles granted since)."""
    membership, _ = Membership.objects.get_or_create(user=user, organization=organization)
    membership.roles.set(roles)
    return membership


def _series(organization: Organization, *, site: Site) -> dict[Any, Series]:
    """The demo series, keyed by the signal uid that owns them (3, 4, 5, 100, 101), by
    ("meter", stream id) and ("sensor", stream id) for the datastreams of devices 1 and 101, and
    "point" for the Building X point, all at the demo site: the energy register a counter, the
    others measurements.

    Series with a meter code are found by it; the others by name, among the series without one.
    """
    result: dict[Any, Series] = {}
    for uid, _si, unit, name, meter_code, wave in MAIN_SIGNALS + SUB_SIGNALS:
        kind = SeriesKind.COUNTER if wave.counter else SeriesKind.MEASUREMENT
        fields = {"unit": unit, "kind": kind, "site_id": site.pk}
        result[uid] = _one_series(organization, name=name, meter_code=meter_code, fields=fields)
    for key, name, unit in _measurements():
        fields = {"unit": unit, "kind": SeriesKind.MEASUREMENT, "site_id": site.pk}
        result[key] = _one_series(organization, name=name, meter_code=None, fields=fields)
    return result


def _measurements() -> list[tuple[Any, str, str]]:
    """(key, name, unit) of the demo series no signal owns."""
    name, unit, _wave = POINT_SERIES
    return [
        *((("meter", stream_id), name_, unit_) for stream_id, name_, unit_, _ in METER_ROOM_SERIES),
        *((("sensor", stream_id), name_, unit_) for stream_id, name_, unit_, _ in SENSOR_SERIES),
        ("point", name, unit),
    ]


def _one_series(organization: Organization, *, name: str, meter_code: str | None, fields: dict) -> Series:
    if meter_code is not None:
        series, _ = Series.objects.update_or_create(
            organization=organization, meter_code=meter_code, defaults={"name": name, **fields}
        )
        return series
    series = (
        Series.objects.filter(organization=organization, meter_code=None, name=name).order_by("pk").first()
    )
    if series is None:
        return Series.objects.create(organization=organization, name=name, **fields)
    changed = [field for field, value in fields.items() if getattr(series, field) != value]
    if changed:
        for field in changed:
            setattr(series, field, fields[field])
        series.save(update_fields=changed)
    return series


def _devices(
    organization: Organization, *, series: dict[Any, Series], owner, site: Site
) -> dict[int, Device]:
    product, _ = Product.objects.update_or_create(
        organization=organization,
        name="Demo product",
        defaults={
            "parent": None,
            "datastream_template": [
                {"stream_id": stream_id, "pin": pin, "label": label, "value_type": ValueType.DOUBLE}
                for stream_id, pin, label in DATASTREAMS
            ],
        },
    )

    def device(uid: int, **defaults) -> Device:
        defaults = {
            "part_number": "",
            "system": "",
            "protocol": "",
            "owner": None,
            "product": None,
            "site": site,
        } | defaults
        obj, _ = Device.objects.update_or_create(organization=organization, uid=uid, defaults=defaults)
        return obj

    def load(device_: Device, uid: int, **defaults) -> Load:
        defaults = {"enable": True, "index": 1, "type": 0, "config": {}} | defaults
        obj, _ = Load.objects.update_or_create(
            organization=organization, uid=uid, defaults={"device": device_} | defaults
        )
        return obj

    main_meter = device(
        1,
        label="Main meter",
        part_number="EMS10AV5S1X",
        system="1P",
        protocol=Protocol.METERBUS,
        owner=owner,
        product=product,
    )
    device(59, label="EM1", part_number="EM24_E1", system="1P", protocol=Protocol.RTU)
    sub_meter = device(82, label="Sub meter", part_number="EM24_E1", system="1P", protocol=Protocol.RTU)
    sensor = device(101, label="Room sensor", protocol=Protocol.VIRTUAL, product=product)

    main_load = load(main_meter, 2, label="Main", config={Protocol.METERBUS.value: METERBUS_MAIN_CONFIG})
    sub_load = load(sub_meter, 83, label="Sub")
    for load_, signals in ((main_load, MAIN_SIGNALS), (sub_load, SUB_SIGNALS)):
        for uid, si, unit, _name, _code, _wave in signals:
            Signal.objects.update_or_create(
                organization=organization,
                uid=uid,
                defaults={
                    "load": load_,
                    "si": si,
                    "sir": None,
                    "enable": True,
                    "unit": unit,
                    "series": series[uid],
                },
            )

    for device_, stream_series in (
        (main_meter, {stream_id: series[("meter", stream_id)] for stream_id, _, _, _ in METER_ROOM_SERIES}),
        (sensor, {stream_id: series[("sensor", stream_id)] for stream_id, _, _, _ in SENSOR_SERIES}),
    ):
        for stream_id, pin, label in DATASTREAMS:
            # Found by stream id; a datastream holding the pin under another id would clash.
            DataStream.objects.filter(device=device_, pin=pin).exclude(stream_id=stream_id).delete()
            DataStream.objects.update_or_create(
                device=device_,
                stream_id=stream_id,
                defaults={
                    "organization": organization,
                    "pin": pin,
                    "label": label,
                    "alias": label,
                    "value_type": ValueType.DOUBLE,
                    "series": stream_series[stream_id],
                },
            )
    return {1: main_meter, 101: sensor}


def _building(organization: Organization, *, slug: str, series: Series) -> tuple[Partition, Point]:
    partition, _ = Partition.objects.update_or_create(
        organization=organization,
        uuid=uuid.uuid5(UUID_NAMESPACE, f"{slug}/partition"),
        defaults={"name": "Demo building"},
    )
    point, _ = Point.objects.update_or_create(
        organization=organization,
        uuid=uuid.uuid5(UUID_NAMESPACE, f"{slug}/point"),
        defaults={"partition": partition, "name": POINT_NAME, "unit": series.unit, "series": series},
    )
    return partition, point


def _api_token(organization: Organization, user) -> str:
    """A new ioTORQ key for `user`; the demo keys issued before stop working."""
    for previous in ApiToken.objects.filter(
        organization=organization, user=user, name=DEMO_KEY_NAME, revoked_at=None
    ):
        api_token_revoke(token=previous)
    return api_token_issue(organization=organization, user=user, name=DEMO_KEY_NAME).secret


def _oauth_client(organization: Organization, dialect: str, client_id: str, name: str):
    """The demo client `client_id` with a new secret (the old one stops working). A revoked one
    stays revoked (revocation is one-way): it is replaced by a new client with the same id."""
    client = OAuthClient.objects.filter(client_id=client_id).first()
    if client is not None and client.organization_id != organization.pk:
        raise Invalid(f"the client id {client_id!r} belongs to another organization", field="client_id")
    if client is not None and client.revoked_at is not None:
        client.delete()
        client = None
    if client is None:
        return oauth_client_issue(organization=organization, dialect=dialect, name=name, client_id=client_id)
    OAuthClient.objects.filter(pk=client.pk).update(dialect=dialect, name=name)
    client.refresh_from_db()
    return oauth_client_secret_rotate(client=client)
