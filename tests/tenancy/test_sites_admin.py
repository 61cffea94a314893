"""Issue #14 in the admin: facility managers edit their organization (not its limits) and its
sites; the series page sets what a series measures and where it is."""

import pytest
from django.urls import reverse

from apps.tenancy.admin import grantable_roles
from apps.tenancy.models import Organization, Site
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def manager(org):
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])
    return user


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_a_facility_manager_edits_their_organizations_time_zone_and_retention_but_not_its_quotas(
    manager_client, org
):
    org.requests_per_minute = 100
    org.save()

    page = manager_client.get(url(Organization, "change", org.pk))
    assert page.status_code == 200
    assert {"name", "time_zone", "sn", "mac"} <= set(page.context["adminform"].form.fields)
    response = manager_client.post(
        url(Organization, "change", org.pk),
        {
            "name": "Acme Works",
            "time_zone": "Europe/Rome",
            "sn": "EMS1",
            "mac": "00:11:22:33:44:55",
            "slug": "taken-over",
            "requests_per_minute": "100000",
            "sample_retention_days": "1",
        },
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.time_zone, org.sn, org.mac) == (
        "Acme Works",
        "Europe/Rome",
        "EMS1",
        "00:11:22:33:44:55",
    )
    # Retention is the organization's own (apps/tenancy/admin.py); the slug and the quotas are not.
    assert (org.slug, org.requests_per_minute, org.sample_retention_days) == ("acme", 100, 1)


def test_an_unknown_time_zone_is_refused_and_changes_nothing(manager_client, org):
    response = manager_client.post(
        url(Organization, "change", org.pk),
        {"name": "Renamed", "time_zone": "Mars/Olympus", "sn": "", "mac": ""},
    )

    assert response.status_code == 200
    assert "not an IANA time zone" in str(response.context["adminform"].form.errors["time_zone"])
    org.refresh_from_db()
    assert (org.name, org.time_zone) == ("Acme", "UTC")


def test_a_facility_manager_neither_adds_deletes_nor_sees_other_organizations(manager_client, org, other_org):
    assert list(manager_client.get(url(Organization, "changelist")).context["cl"].queryset) == [org]
    assert manager_client.get(url(Organization, "add")).status_code == 403
    assert manager_client.get(url(Organization, "delete", org.pk)).status_code == 403
    assert manager_client.get(url(Organization, "change", other_org.pk)).status_code == 302
    response = manager_client.post(
        url(Organization, "change", other_org.pk), {"name": "Mine", "time_zone": "UTC", "sn": "", "mac": ""}
    )
    assert response.status_code == 302
    other_org.refresh_from_db()
    assert other_org.name == "Other"


def test_token_administrators_still_grant_the_facility_manager_role(org):
    token_admin = UserFactory(is_staff=True)
    membership_grant(user=token_admin, organization=org, role_slugs=["token-administrator"])

    slugs = set(grantable_roles(token_admin).values_list("slug", flat=True))

    assert "facility-manager" in slugs
    assert "token-administrator" in slugs


def test_a_facility_manager_adds_changes_and_deletes_sites_of_their_organization(manager_client, org):
    org.time_zone = "Europe/Vienna"
    org.save()

    add_page = manager_client.get(url(Site, "add"))
    assert "organization" not in add_page.context["adminform"].form.fields
    assert add_page.context["adminform"].form.initial["time_zone"] == "Europe/Vienna"
    response = manager_client.post(
        url(Site, "add"),
        {"name": "Plant A", "time_zone": "Europe/Vienna", "floor_area": "1250.5", "address": ""},
    )
    assert response.status_code == 302
    site = Site.objects.get(name="Plant A")
    assert (site.organization, site.time_zone, site.floor_area) == (org, "Europe/Vienna", 1250.5)

    response = manager_client.post(
        url(Site, "change", site.pk), {"name": "Plant A", "time_zone": "Europe/Rome", "floor_area": "-1"}
    )
    assert response.status_code == 200  # a negative floor area is refused
    response = manager_client.post(
        url(Site, "change", site.pk), {"name": "Plant A", "time_zone": "Europe/Rome", "floor_area": ""}
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert (site.time_zone, site.floor_area) == ("Europe/Rome", None)

    assert manager_client.post(url(Site, "delete", site.pk), {"post": "yes"}).status_code == 302
    assert not Site.objects.exists()


def test_a_site_name_is_unique_in_its_organization(manager_client, org):
    SiteFactory(organization=org, name="Plant A")

    response = manager_client.post(url(Site, "add"), {"name": "Plant A", "time_zone": "UTC"})

    assert response.status_code == 200
    assert Site.objects.count() == 1


def test_another_organizations_site_is_neither_listed_nor_reachable(manager_client, org, other_org):
    ours, theirs = SiteFactory(organization=org), SiteFactory(organization=other_org, name="Their plant")

    listed = manager_client.get(url(Site, "changelist")).context["cl"].queryset
    assert list(listed) == [ours]
    for view in ("change", "delete", "history"):
        assert manager_client.get(url(Site, view, theirs.pk)).status_code == 302, view
    manager_client.post(url(Site, "delete", theirs.pk), {"post": "yes"})
    manager_client.post(url(Site, "change", theirs.pk), {"name": "Renamed", "time_zone": "UTC"})
    theirs.refresh_from_db()
    assert theirs.name == "Their plant"


def test_the_series_page_sets_kind_unit_interval_end_and_site(manager_client, org, other_org):
    series = SeriesFactory(organization=org, name="Meter")
    ours, theirs = SiteFactory(organization=org), SiteFactory(organization=other_org)

    page = manager_client.get(url(Series, "change", series.pk))
    form = page.context["adminform"].form
    assert [value for value, _ in form.fields["kind"].choices] == [
        "measurement",
        "counter",
        "interval",
        "virtual",
    ]
    assert set(form.fields["site"].queryset) == {ours}
    content = page.content.decode()
    assert 'list="id_unit_known_units"' in content
    assert '<option value="kWh"></option>' in content
    assert '<option value="m³"></option>' in content

    data = {"name": "Meter", "kind": "interval", "unit": "therm", "interval_end": "on", "site": ours.pk}
    assert manager_client.post(url(Series, "change", series.pk), data).status_code == 302
    series.refresh_from_db()
    # A unit the list does not know is kept as typed.
    assert (series.kind, series.unit, series.interval_end, series.site) == ("interval", "therm", True, ours)

    write(SampleBatch([series.pk], [0], [1.0]), Policy.OVERWRITE)
    refused = [
        {**data, "kind": "virtual"},  # a series with samples (docs/energy.md, "Virtual series")
        {**data, "kind": "Counter"},
        {**data, "site": theirs.pk},
    ]
    for bad in refused:
        response = manager_client.post(url(Series, "change", series.pk), bad)
        assert response.status_code == 200, bad
    series.refresh_from_db()
    assert (series.kind, series.site) == ("interval", ours)


def test_the_series_list_filters_by_kind_and_site(manager_client, org):
    site = SiteFactory(organization=org)
    counter = SeriesFactory(organization=org, kind="counter", site=site)
    SeriesFactory(organization=org, kind="measurement", site=site)
    SeriesFactory(organization=org, kind="counter")

    by_both = manager_client.get(
        url(Series, "changelist"), {"kind__exact": "counter", "site__id__exact": site.pk}
    )

    assert list(by_both.context["cl"].queryset) == [counter]
    filters = {spec.title for spec in by_both.context["cl"].filter_specs}
    assert {"kind", "site"} <= filters
