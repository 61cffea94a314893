"""Issue #15 item 6: a site that devices or series still use is not deleted, in the admin (its
delete page lists them, as Django does for protected objects) or by the service; an unused one
is; deleting the whole organization still takes its sites, devices and series."""

import pytest
from django.db import models
from django.urls import reverse

from apps.core.exceptions import Invalid
from apps.inventory.models import Device
from apps.tenancy.models import Organization, Site
from apps.tenancy.services import site_delete
from apps.timeseries.models import Series
from tests.factories import DeviceFactory, SeriesFactory, SiteFactory

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def used_site(org):
    site = SiteFactory(organization=org, name="Plant A")
    DeviceFactory(organization=org, site=site, label="Boiler meter")
    SeriesFactory(organization=org, site=site, name="Boiler energy")
    return site


def test_the_delete_page_of_a_used_site_lists_what_uses_it_and_deletes_nothing(manager_client, used_site):
    page = manager_client.get(url(Site, "delete", used_site.pk))

    assert page.status_code == 200
    device, series = Device.objects.get(), Series.objects.get()
    # Each linked to its page, so that the manager can move or delete it.
    assert sorted(str(obj) for obj in page.context["protected"]) == [
        f'Device: <a href="{url(Device, "change", device.pk)}">{device}</a>',
        f'Series: <a href="{url(Series, "change", series.pk)}">{series}</a>',
    ]
    assert "would require deleting the following protected related objects" in page.content.decode()

    response = manager_client.post(url(Site, "delete", used_site.pk), {"post": "yes"})

    # The same page again, the list still on it.
    assert (response.status_code, len(response.context["protected"])) == (200, 2)
    assert Site.objects.filter(pk=used_site.pk).exists()
    assert Device.objects.get().site_id == used_site.pk
    assert Series.objects.get().site_id == used_site.pk


@pytest.mark.parametrize("user", ["device", "series"])
def test_one_device_or_one_series_is_enough_to_keep_a_site(manager_client, org, user):
    site = SiteFactory(organization=org)
    (DeviceFactory if user == "device" else SeriesFactory)(organization=org, site=site)

    manager_client.post(url(Site, "delete", site.pk), {"post": "yes"})

    assert Site.objects.filter(pk=site.pk).exists()


def test_the_bulk_delete_action_deletes_no_used_site(manager_client, org, used_site):
    unused = SiteFactory(organization=org, name="Empty lot")

    page = manager_client.post(
        url(Site, "changelist"), {"action": "delete_selected", "_selected_action": [used_site.pk, unused.pk]}
    )
    assert page.status_code == 200
    assert "Boiler meter" in page.content.decode()
    manager_client.post(
        url(Site, "changelist"),
        {"action": "delete_selected", "_selected_action": [used_site.pk, unused.pk], "post": "yes"},
    )

    assert set(Site.objects.values_list("name", flat=True)) == {"Plant A", "Empty lot"}


def test_an_unused_site_is_deleted(manager_client, org):
    site = SiteFactory(organization=org)

    page = manager_client.get(url(Site, "delete", site.pk))
    assert not page.context["protected"]
    response = manager_client.post(url(Site, "delete", site.pk), {"post": "yes"})

    assert (response.status_code, response.url) == (302, url(Site, "changelist"))
    assert not Site.objects.filter(pk=site.pk).exists()


def test_the_service_refuses_a_used_site_naming_its_users(org, used_site):
    with pytest.raises(Invalid) as refused:
        site_delete(site=used_site)

    device = Device.objects.get()
    assert str(refused.value) == (
        f"The site 'Plant A' is still used by 1 devices ({device}) and 1 series (Boiler energy); "
        "move or delete them first."
    )
    assert Site.objects.filter(pk=used_site.pk).exists()


def test_the_service_deletes_an_unused_site(org):
    site = SiteFactory(organization=org)

    site_delete(site=site)

    assert not Site.objects.filter(pk=site.pk).exists()


def test_a_plain_delete_of_a_used_site_is_refused_too(used_site):
    with pytest.raises(models.RestrictedError):
        used_site.delete()

    assert Site.objects.filter(pk=used_site.pk).exists()


def test_deleting_an_organization_still_deletes_its_used_sites(org, used_site, other_org):
    theirs = SiteFactory(organization=other_org)
    DeviceFactory(organization=other_org, site=theirs)

    org.delete()

    assert not Organization.objects.filter(pk=org.pk).exists()
    assert list(Site.objects.all()) == [theirs]
    assert not Device.objects.filter(organization_id=org.pk).exists()
    assert not Series.objects.filter(organization_id=org.pk).exists()
