import pytest
from django.db import IntegrityError, transaction

from apps.tenancy.models import Role
from apps.tenancy.roles import SHIPPED_ROLES
from apps.tenancy.selectors import membership_permissions
from apps.tenancy.services import membership_grant, roles_sync
from tests.factories import (
    DataStreamFactory,
    DeviceFactory,
    LoadFactory,
    PartitionFactory,
    PointFactory,
    SeriesFactory,
    SignalFactory,
    UserFactory,
)


def rejected(factory, **kwargs) -> bool:
    try:
        with transaction.atomic():
            factory(**kwargs)
    except IntegrityError:
        return True
    return False


def test_device_uid_is_unique_per_organization_only(org, other_org):
    DeviceFactory(organization=org, uid=1)

    assert rejected(DeviceFactory, organization=org, uid=1)
    assert not rejected(DeviceFactory, organization=other_org, uid=1)


def test_load_uid_is_unique_per_organization_only(org, other_org):
    LoadFactory(device=DeviceFactory(organization=org), uid=2)

    assert rejected(LoadFactory, device=DeviceFactory(organization=org), uid=2)
    assert not rejected(LoadFactory, device=DeviceFactory(organization=other_org), uid=2)


def test_signal_uid_is_unique_per_organization_only(org, other_org):
    SignalFactory(load=LoadFactory(device=DeviceFactory(organization=org)), uid=100)

    assert rejected(SignalFactory, load=LoadFactory(device=DeviceFactory(organization=org)), uid=100)
    assert not rejected(
        SignalFactory, load=LoadFactory(device=DeviceFactory(organization=other_org)), uid=100
    )


def test_point_uuid_is_unique_per_organization(org):
    point = PointFactory(partition=PartitionFactory(organization=org))

    assert rejected(PointFactory, partition=PartitionFactory(organization=org), uuid=point.uuid)


def test_device_uid_and_signal_uid_may_be_equal(org):
    device = DeviceFactory(organization=org, uid=101)

    SignalFactory(load=LoadFactory(device=device), uid=101)


def test_meter_code_is_unique_per_organization_and_optional(org, other_org):
    SeriesFactory(organization=org, meter_code="m1")
    SeriesFactory(organization=org, meter_code=None)
    SeriesFactory(organization=org, meter_code=None)
    SeriesFactory(organization=other_org, meter_code="m1")

    assert rejected(SeriesFactory, organization=org, meter_code="m1")


def test_datastream_id_and_pin_are_unique_per_device(org):
    device = DeviceFactory(organization=org)
    DataStreamFactory(device=device, stream_id=1, pin="v1")

    assert rejected(DataStreamFactory, device=device, stream_id=1, pin="v9")
    assert rejected(DataStreamFactory, device=device, stream_id=9, pin="v1")
    DataStreamFactory(device=DeviceFactory(organization=org), stream_id=1, pin="v1")


@pytest.mark.django_db
def test_shipped_roles_exist_with_their_permissions():
    roles = {role.slug: role for role in Role.objects.prefetch_related("permissions__content_type")}

    assert set(roles) == set(SHIPPED_ROLES)
    for slug, (name, _, perms) in SHIPPED_ROLES.items():
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in roles[slug].permissions.all()}
        assert roles[slug].name == name
        assert granted == set(perms)


@pytest.mark.django_db
def test_roles_sync_is_idempotent():
    before = Role.objects.count()

    roles_sync()

    assert Role.objects.count() == before


def test_membership_permissions_come_from_the_roles_in_that_organization_only(org, other_org):
    user = UserFactory()
    membership_grant(user=user, organization=org, role_slugs=["blynk-device-owner", "api"])
    membership_grant(user=user, organization=other_org, role_slugs=["blynk-operator"])

    assert membership_permissions(user=user, organization=org) == {"OWN_DEVICES_VIEW", "EMS_API"}
    assert membership_permissions(user=user, organization=other_org) == {
        "ORG_DEVICES_VIEW",
        "ORG_DEVICES_CONTROL",
        "ORG_DEVICE_DATA_IMPORT",
    }


def test_an_inactive_user_has_no_permissions(org):
    user = UserFactory(is_active=False)
    membership_grant(user=user, organization=org, role_slugs=["api"])

    assert membership_permissions(user=user, organization=org) == set()


def test_roles_grant_their_django_permissions_to_members(org):
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])

    assert user.has_perm("inventory.change_device")
    assert user.has_perm("timeseries.view_series")
    assert user.has_module_perms("inventory")
    assert not user.has_perm("access.add_apitoken")
    assert not user.has_module_perms("access")


def test_an_inactive_member_gets_no_permissions_from_roles(org):
    user = UserFactory(is_staff=True, is_active=False)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])

    assert not user.has_perm("inventory.change_device")
