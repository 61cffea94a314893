import json
from datetime import UTC, datetime
from io import StringIO
from itertools import pairwise

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.access.models import ApiToken, OAuthClient
from apps.access.selectors import api_token_for_key, oauth_client_authenticate, principal_for_claims
from apps.access.services import oauth_client_revoke
from apps.access.tokens import jwt_claims, jwt_issue
from apps.inventory.models import DataStream, Device, Load, Partition, Point, Product, Signal
from apps.tenancy.models import Membership, Organization, Site
from apps.timeseries.models import Series, SeriesKind
from apps.timeseries.query import samples_count, samples_page

NOW = datetime(2026, 1, 15, 12, 30, 20, 500_000, tzinfo=UTC)
LAST_MINUTE_MS = 1_768_480_200_000  # 2026-01-15T12:30:00Z, NOW floored to the minute
DAY_MS = 24 * 60 * 60_000

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def seed(*args: str) -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def object_counts() -> dict[str, int]:
    models = (Organization, get_user_model(), Membership, Product, Device, Load, Signal, DataStream)
    models += (Partition, Point, Series, OAuthClient)
    counts = {model.__name__: model.objects.count() for model in models}
    counts["roles granted"] = Membership.roles.through.objects.count()
    counts["live API tokens"] = ApiToken.objects.filter(revoked_at=None).count()
    return counts


def test_seed_demo_prints_one_json_object_with_the_documented_shape():
    result = seed()

    assert {key: set(value) for key, value in result.items()} == {
        "organization": {"slug", "name"},
        "admin": {"username", "password"},
        "iotorq": {"token", "meter_codes", "variable_ids"},
        "blynk": {"client_id", "client_secret", "device_ids", "datastream_ids", "user"},
        "buildingx": {"client_id", "client_secret", "partition_id", "point_id"},
        "ems": {"username", "password"},
    }
    assert set(result["blynk"]["user"]) == {"username", "password", "owns", "permissions"}
    assert result["organization"] == {"slug": "demo", "name": "Demo Facility"}
    assert result["admin"] == {"username": "admin", "password": "s3cret!"}
    assert result["ems"] == {"username": "admin", "password": "s3cret!"}
    assert result["iotorq"]["meter_codes"] == ["my_meter_code1", "my_meter_code2"]
    assert result["blynk"]["device_ids"] == [1, 101]
    assert result["blynk"]["datastream_ids"] == [1, 2]
    assert result["blynk"]["user"]["owns"] == [1]
    assert result["blynk"]["user"]["permissions"] == ["OWN_DEVICES_VIEW"]
    assert result["blynk"]["user"]["username"] == "blynk@demo.example"


def test_seed_demo_creates_the_vendor_example_objects_in_one_organization():
    result = seed()

    org = Organization.objects.get(slug="demo")
    assert (org.sn, org.mac) == ("EMS10AV5S1X0001", "00:1A:2B:3C:4D:5E")
    main_meter = Device.objects.get(organization=org, uid=1)
    assert (main_meter.label, main_meter.part_number, main_meter.system, main_meter.protocol) == (
        "Main meter",
        "EMS10AV5S1X",
        "1P",
        "meterBus",
    )
    main = Load.objects.get(organization=org, uid=2)
    assert (main.device, main.label, main.enable, main.index, main.type) == (main_meter, "Main", True, 1, 0)
    assert main.config["meterBus"]["ct"] == 10
    assert main.config["meterBus"]["main"] is True
    em1 = Device.objects.get(organization=org, uid=59)
    assert (em1.label, em1.part_number) == ("EM1", "EM24_E1")
    sub = Load.objects.get(organization=org, uid=83)
    assert sub.device.uid == 82
    assert {(s.uid, s.si, s.effective_sir) for s in sub.signals.all()} == {(100, 29, 29), (101, 30, 30)}
    assert sorted(main.signals.values_list("uid", flat=True)) == [3, 4, 5]
    product = main_meter.product
    assert sorted(product.devices.values_list("uid", flat=True)) == [1, 101]
    for device in product.devices.all():
        assert [(d.stream_id, d.pin, d.label, d.is_numeric) for d in device.datastreams.all()] == [
            (1, "v1", "Temperature", True),
            (2, "v2", "Humidity", True),
        ]
    partition = Partition.objects.get(organization=org)
    point = Point.objects.get(organization=org)
    assert (str(partition.uuid), str(point.uuid)) == (
        result["buildingx"]["partition_id"],
        result["buildingx"]["point_id"],
    )
    assert point.partition == partition


def test_seed_demo_shares_the_meter_series_between_the_dialects_and_nothing_else():
    result = seed()

    org = Organization.objects.get(slug="demo")
    signal = {s.uid: s for s in Signal.objects.filter(organization=org).select_related("series")}
    assert signal[3].series.meter_code == "my_meter_code1"
    assert signal[4].series.meter_code == "my_meter_code2"
    assert result["iotorq"]["variable_ids"] == [signal[3].series_id, signal[4].series_id]

    stream = {(d.device.uid, d.stream_id): d for d in DataStream.objects.filter(organization=org)}
    point = Point.objects.get(organization=org)
    own = [stream[key].series_id for key in ((1, 1), (1, 2), (101, 1), (101, 2))] + [point.series_id]
    assert len(set(own)) == 5
    assert set(own).isdisjoint(s.series_id for s in signal.values())
    assert all(series.organization_id == org.pk for series in Series.objects.filter(pk__in=own))


def test_seed_demo_datastreams_and_point_are_series_of_their_own_with_plausible_values():
    """The "Temperature" and "Humidity" datastreams measure a temperature and a humidity (not the
    sub-meter's voltage and current), and the Building X point is not the main energy counter."""
    seed()

    org = Organization.objects.get(slug="demo")
    for device_uid in (1, 101):
        for stream_id, unit, low, high in ((1, "°C", 15.0, 30.0), (2, "%", 30.0, 70.0)):
            stream = DataStream.objects.select_related("series").get(
                organization=org, device__uid=device_uid, stream_id=stream_id
            )
            series = stream.series
            assert (series.unit, series.kind) == (unit, SeriesKind.MEASUREMENT)
            values = [
                row.value for row in samples_page(series_id=series.pk, start_ms=0, end_ms=2**62, limit=2000)
            ]
            assert len(values) == 24 * 60
            assert low <= min(values) < max(values) <= high, (device_uid, stream_id)
            assert stream.value == values[-1]
    point = Point.objects.select_related("series").get(organization=org)
    assert (point.name, point.unit) == ("Supply air temperature", "°C")
    assert (point.series.name, point.series.unit, point.series.kind, point.series.meter_code) == (
        "AHU supply air temperature",
        "°C",
        SeriesKind.MEASUREMENT,
        None,
    )
    values = [
        row.value for row in samples_page(series_id=point.series_id, start_ms=0, end_ms=2**62, limit=2000)
    ]
    assert 10.0 <= min(values) < max(values) <= 18.0


def test_seed_demo_admin_is_staff_but_not_superuser_and_holds_its_roles():
    seed()

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert admin.check_password("s3cret!")
    membership = Membership.objects.get(user=admin)
    assert membership.organization.slug == "demo"
    assert set(membership.roles.values_list("slug", flat=True)) == {
        "facility-manager",
        "token-administrator",
        "api",
    }
    blynk = get_user_model().objects.get(username="blynk@demo.example")
    assert not blynk.is_staff and not blynk.is_superuser
    assert set(Membership.objects.get(user=blynk).roles.values_list("slug", flat=True)) == {
        "blynk-device-owner"
    }


def test_seed_demo_credentials_authenticate():
    result = seed()

    token = api_token_for_key(key=result["iotorq"]["token"])
    assert token is not None
    assert (token.organization.slug, token.user.username) == ("demo", "admin")
    for dialect in ("blynk", "buildingx"):
        client = oauth_client_authenticate(
            client_id=result[dialect]["client_id"], secret=result[dialect]["client_secret"], dialect=dialect
        )
        assert client is not None
        assert client.organization.slug == "demo"
    blynk_user = get_user_model().objects.get(username=result["blynk"]["user"]["username"])
    assert blynk_user.check_password(result["blynk"]["user"]["password"])


def test_seed_demo_again_creates_nothing_and_issues_new_credentials():
    first = seed()
    counts = object_counts()

    second = seed()

    assert object_counts() == counts
    assert api_token_for_key(key=first["iotorq"]["token"]) is None
    assert api_token_for_key(key=second["iotorq"]["token"]) is not None
    for dialect in ("blynk", "buildingx"):
        assert second[dialect]["client_id"] == first[dialect]["client_id"]
        assert second[dialect]["client_secret"] != first[dialect]["client_secret"]
        client_id = first[dialect]["client_id"]
        assert (
            oauth_client_authenticate(
                client_id=client_id, secret=first[dialect]["client_secret"], dialect=dialect
            )
            is None
        )
        assert oauth_client_authenticate(
            client_id=client_id, secret=second[dialect]["client_secret"], dialect=dialect
        )
    blynk_user = get_user_model().objects.get(username=second["blynk"]["user"]["username"])
    assert not blynk_user.check_password(first["blynk"]["user"]["password"])
    assert blynk_user.check_password(second["blynk"]["user"]["password"])
    assert second["iotorq"]["variable_ids"] == first["iotorq"]["variable_ids"]
    assert second["buildingx"]["partition_id"] == first["buildingx"]["partition_id"]
    assert second["buildingx"]["point_id"] == first["buildingx"]["point_id"]


def test_seed_demo_replaces_a_revoked_demo_client_instead_of_bringing_it_back():
    """Revocation is one-way: a revoked demo client's tokens stay refused; the seed makes a new
    client under the same client id."""
    first = seed()
    claims = {}
    for client in OAuthClient.objects.all():
        token = jwt_issue(
            dialect=client.dialect, organization=client.organization, client=client, lifetime_seconds=600
        )
        claims[client.dialect] = jwt_claims(dialect=client.dialect, token=token)
        oauth_client_revoke(client=client)

    second = seed()

    for dialect in ("blynk", "buildingx"):
        client_id = second[dialect]["client_id"]
        assert client_id == first[dialect]["client_id"]
        assert principal_for_claims(dialect=dialect, claims=claims[dialect]) is None
        assert oauth_client_authenticate(
            client_id=client_id, secret=second[dialect]["client_secret"], dialect=dialect
        )
    assert not OAuthClient.objects.exclude(revoked_at=None).exists()


def test_seed_demo_writes_a_day_of_one_minute_samples_on_every_demo_series():
    seed()

    org = Organization.objects.get(slug="demo")
    # The 15-minute meters (demo_energy.py, demo_meters.py) aside.
    demo_series = Series.objects.filter(organization=org).exclude(
        kind__in=[SeriesKind.INTERVAL, SeriesKind.VIRTUAL]
    )
    assert demo_series.count() == 10  # 5 signals, 4 datastreams, the Building X point
    for series in demo_series:
        assert samples_count(series_id=series.pk, start_ms=0, end_ms=2**62) == 1440, series.name
        assert (
            samples_count(series_id=series.pk, start_ms=LAST_MINUTE_MS - DAY_MS, end_ms=LAST_MINUTE_MS + 1)
            == 1440
        )
        assert series.last_ts == LAST_MINUTE_MS
    voltage = Signal.objects.get(organization=org, uid=100).series
    assert 220 < voltage.last_value < 240
    stream = DataStream.objects.select_related("series").get(organization=org, device__uid=1, stream_id=1)
    assert stream.value == stream.series.last_value
    assert 15 < stream.value < 30
    assert stream.value_updated_at == datetime.fromtimestamp(LAST_MINUTE_MS / 1000, tz=UTC)


def test_seed_demo_energy_counter_only_increases():
    seed()

    energy = Signal.objects.get(organization__slug="demo", uid=5).series
    values = [row.value for row in samples_page(series_id=energy.pk, start_ms=0, end_ms=2**62, limit=2000)]
    assert all(later > earlier for earlier, later in pairwise(values))


def test_seed_demo_sets_what_each_series_measures_at_the_demo_site():
    seed()

    org = Organization.objects.get(slug="demo")
    site, warehouse = Site.objects.filter(organization=org).order_by("name")
    assert (site.name, site.time_zone, site.floor_area) == ("Demo building", "Europe/Rome", 1200.0)
    assert (warehouse.name, warehouse.time_zone, warehouse.floor_area) == (
        "Warehouse",
        "Europe/Lisbon",
        4500.0,
    )
    assert set(Device.objects.filter(organization=org).values_list("site", flat=True)) == {site.pk}
    assert set(
        Series.objects.filter(organization=org).exclude(site=warehouse).values_list("site", flat=True)
    ) == {site.pk}
    assert sorted(warehouse.series.values_list("meter_code", flat=True)) == [
        "warehouse_cold_15min",
        "warehouse_main_15min",
    ]
    kinds = {s.uid: (s.series.kind, s.series.unit) for s in Signal.objects.filter(organization=org)}
    assert kinds == {
        3: ("measurement", "kW"),
        4: ("measurement", "var"),
        5: ("counter", "kWh"),
        100: ("measurement", "V"),
        101: ("measurement", "A"),
    }
    sensors = Series.objects.filter(datastreams__device__uid=101)
    assert {(s.kind, s.unit) for s in sensors} == {("measurement", "°C"), ("measurement", "%")}


def test_seed_demo_writes_a_15_minute_load_profile_that_agrees_with_the_energy_register():
    seed()

    org = Organization.objects.get(slug="demo")
    profile = Series.objects.get(organization=org, meter_code="main_energy_15min")
    assert (profile.meter_code, profile.unit, profile.interval_end) == ("main_energy_15min", "kWh", False)
    rows = samples_page(series_id=profile.pk, start_ms=0, end_ms=2**62, limit=1000)
    quarter = 15 * 60_000
    assert len(rows) == 3 * 96  # three days of quarter hours
    assert [b.ts - a.ts for a, b in pairwise(rows)] == [quarter] * (len(rows) - 1)
    # The last interval ends at or before the last minute written: 12:15-12:30 on NOW's day.
    assert rows[-1].ts + quarter == LAST_MINUTE_MS
    energy = Signal.objects.get(organization=org, uid=5).series
    register = {
        r.ts: r.value for r in samples_page(series_id=energy.pk, start_ms=0, end_ms=2**62, limit=2000)
    }
    last_hour = [row for row in rows if row.ts >= LAST_MINUTE_MS - 60 * 60_000]
    assert sum(row.value for row in last_hour) == pytest.approx(
        register[LAST_MINUTE_MS] - register[LAST_MINUTE_MS - 60 * 60_000], abs=0.01
    )


def test_seed_demo_again_keeps_its_sites_load_profile_and_meters():
    seed()
    Site.objects.filter(organization__slug="demo").update(time_zone="UTC")

    seed()

    assert list(Site.objects.order_by("name").values_list("time_zone", flat=True)) == [
        "Europe/Rome",
        "Europe/Lisbon",
    ]
    # The load profile and the six demo meters, once each.
    assert Series.objects.filter(kind=SeriesKind.INTERVAL).count() == 7


def test_seed_demo_for_another_slug_creates_a_second_organization_with_its_own_series():
    demo = seed()

    other = seed("--org", "other")

    assert other["organization"]["slug"] == "other"
    assert other["admin"]["username"] == other["ems"]["username"] == "other-admin"
    assert other["admin"]["password"] != "s3cret!"
    assert other["blynk"]["user"]["username"] == "other-blynk@demo.example"
    assert set(other["iotorq"]["variable_ids"]).isdisjoint(demo["iotorq"]["variable_ids"])
    assert other["buildingx"]["partition_id"] != demo["buildingx"]["partition_id"]
    assert other["blynk"]["client_id"] != demo["blynk"]["client_id"]
    demo_org, other_org = Organization.objects.get(slug="demo"), Organization.objects.get(slug="other")
    assert (
        Device.objects.filter(organization=other_org).count()
        == Device.objects.filter(organization=demo_org).count()
    )
    assert Series.objects.filter(organization=other_org).count() == 18
    assert not Signal.objects.filter(organization=other_org, series__organization=demo_org).exists()
    assert other_org.sn != demo_org.sn
    token = api_token_for_key(key=other["iotorq"]["token"])
    assert token.organization == other_org
    admin = get_user_model().objects.get(username="other-admin")
    assert list(Membership.objects.filter(user=admin).values_list("organization__slug", flat=True)) == [
        "other"
    ]


def test_seed_demo_prints_labelled_credentials_as_text_by_default():
    out = StringIO()

    call_command("seed_demo", stdout=out)

    text = out.getvalue()
    token = ApiToken.objects.get(revoked_at=None)
    assert "s3cret!" in text
    assert token.prefix in text
    for label in ("Admin site", "EMS gateway API", "ioTORQ", "Blynk", "Building X", "client secret"):
        assert label in text


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        seed()

    assert not Organization.objects.exists()


def test_seed_demo_runs_in_production_when_forced(settings):
    settings.PRODUCTION = True

    result = seed("--force")

    assert result["organization"]["slug"] == "demo"
    assert Organization.objects.filter(slug="demo").exists()


@pytest.mark.parametrize("slug", ["Not a slug", "x" * 51])
def test_seed_demo_refuses_a_slug_it_cannot_use(slug):
    with pytest.raises(CommandError, match="slug"):
        seed("--org", slug)

    assert not Organization.objects.exists()
