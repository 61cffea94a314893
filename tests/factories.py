"""factory_boy factories, one per model.

Credentials are issued through the access services, as in production (the secret is hashed and
exists only in the returned `Issued`): their factories return `Issued` (`.credential`, `.secret`).
"""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from apps.access.models import ApiToken, Dialect, OAuthClient
from apps.access.services import api_token_issue, oauth_client_issue
from apps.inventory.models import DataStream, Device, Load, Partition, Point, Product, Signal
from apps.tenancy.models import Organization, Site
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def staff_user(organization, *codenames: str, roles=()):
    """An active staff user with the `roles` (slugs) in `organization` and the global permissions
    `codenames`: what the admin's pages check, said by each test."""
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=organization, role_slugs=list(roles))
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Series {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    organization = factory.SubFactory(OrganizationFactory)
    uid = factory.Sequence(lambda n: 1000 + n)
    label = factory.Sequence(lambda n: f"Device {n}")


class LoadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Load

    device = factory.SubFactory(DeviceFactory)
    organization = factory.SelfAttribute("device.organization")
    uid = factory.Sequence(lambda n: 2000 + n)
    label = factory.Sequence(lambda n: f"Load {n}")


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signal

    load = factory.SubFactory(LoadFactory)
    organization = factory.SelfAttribute("load.organization")
    uid = factory.Sequence(lambda n: 3000 + n)
    si = 29
    series = factory.SubFactory(SeriesFactory, organization=factory.SelfAttribute("..organization"))


class DataStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataStream

    device = factory.SubFactory(DeviceFactory)
    organization = factory.SelfAttribute("device.organization")
    stream_id = factory.Sequence(lambda n: n + 1)
    pin = factory.Sequence(lambda n: f"v{n + 1}")
    label = factory.Sequence(lambda n: f"Datastream {n}")
    series = factory.SubFactory(SeriesFactory, organization=factory.SelfAttribute("..organization"))


class PartitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partition

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Partition {n}")


class PointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Point

    partition = factory.SubFactory(PartitionFactory)
    organization = factory.SelfAttribute("partition.organization")
    name = factory.Sequence(lambda n: f"Point {n}")
    series = factory.SubFactory(SeriesFactory, organization=factory.SelfAttribute("..organization"))


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """An ioTORQ key (`Authorization: Token <secret>`); returns `Issued`."""

    class Meta:
        model = ApiToken

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Token {n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return api_token_issue(**kwargs)


class OAuthClientFactory(factory.django.DjangoModelFactory):
    """An OAuth client of a dialect (Blynk by default; Building X with `dialect=Dialect.BUILDINGX`,
    `partitions=[...]` to restrict it); returns `Issued`."""

    class Meta:
        model = OAuthClient

    organization = factory.SubFactory(OrganizationFactory)
    dialect = Dialect.BLYNK
    name = factory.Sequence(lambda n: f"Client {n}")
    client_id = factory.Sequence(lambda n: f"client-{n}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return oauth_client_issue(**kwargs)
