"""Issue #15 item 6: the facility manager's organization page, with the demo's own admin user (a
facility manager, token administrator and API user of the demo organization, not a superuser)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.tenancy.models import Organization, Site
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EDITABLE = {"name", "time_zone", "sn", "mac", "sample_retention_days", "realtime_staleness_seconds"}
SUPERUSER_ONLY = {"slug", "requests_per_minute", "import_points_per_device_day"}


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo_admin(client, demo):
    """Logged in with the demo's admin credentials, as `make run` prints them."""
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])
    return client


def organization_form(organization: Organization, **changes) -> dict:
    data = {
        "name": organization.name,
        "time_zone": organization.time_zone,
        "sn": organization.sn,
        "mac": organization.mac,
        "sample_retention_days": "",
        "realtime_staleness_seconds": "",
    }
    return {**data, **changes}


def test_the_demo_admin_opens_and_edits_their_organization(demo_admin):
    org = Organization.objects.get(slug="demo")
    org.requests_per_minute, org.import_points_per_device_day = 600, 5000
    org.save()

    page = demo_admin.get(url(Organization, "change", org.pk))

    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == EDITABLE
    content = page.content.decode()
    for field in SUPERUSER_ONLY:
        assert f'name="{field}"' not in content, field
    response = demo_admin.post(
        url(Organization, "change", org.pk),
        organization_form(
            org,
            time_zone="Europe/Berlin",
            sample_retention_days="400",
            realtime_staleness_seconds="90",
            slug="taken-over",
            requests_per_minute="1000000",
            import_points_per_device_day="1000000",
        ),
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.time_zone, org.sample_retention_days, org.realtime_staleness_seconds) == (
        "Europe/Berlin",
        400,
        90,
    )
    assert (org.slug, org.requests_per_minute, org.import_points_per_device_day) == ("demo", 600, 5000)


def test_emptying_the_retention_returns_to_the_installations_default(demo_admin, settings):
    org = Organization.objects.get(slug="demo")
    org.sample_retention_days = 30
    org.save()

    demo_admin.post(url(Organization, "change", org.pk), organization_form(org, sample_retention_days=""))

    org.refresh_from_db()
    assert org.sample_retention_days is None
    assert org.effective_sample_retention_days == settings.EMS_SAMPLE_RETENTION_DAYS


def test_the_organization_page_lists_its_sites_and_links_to_their_list(demo_admin, other_demo):
    org = Organization.objects.get(slug="demo")
    building = Site.objects.get(organization=org, name="Demo building")

    page = demo_admin.get(url(Organization, "change", org.pk)).content.decode()

    assert f'<a href="{url(Site, "change", building.pk)}">Demo building</a>' in page
    assert "Warehouse" in page
    changelist = f"{url(Site, 'changelist')}?organization__id__exact={org.pk}"
    assert f'<a href="{changelist}">All 2 sites</a>' in page
    assert f'<a href="{url(Site, "add")}?organization={org.pk}">Add a site</a>' in page
    listed = demo_admin.get(changelist).context["cl"].queryset
    assert set(listed) == set(Site.objects.filter(organization=org))
    assert len(listed) == 2


def test_another_organizations_page_is_not_found_and_is_not_changed(demo_admin, other_demo):
    other = Organization.objects.get(slug="other")
    missing = Organization.objects.order_by("-pk").first().pk + 1

    for pk in (other.pk, missing):
        response = demo_admin.get(url(Organization, "change", pk))
        # The admin's "not found": back to the index, saying no such object exists.
        assert (response.status_code, response.url) == (302, reverse("admin:index"))
        assert "exist. Perhaps it was deleted?" in str(list(get_messages(response.wsgi_request))[-1])
    response = demo_admin.post(
        url(Organization, "change", other.pk), organization_form(other, name="Mine", time_zone="Asia/Tokyo")
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.name, other.time_zone) == ("Demo Facility (other)", "UTC")
    assert list(demo_admin.get(url(Organization, "changelist")).context["cl"].queryset) == [
        Organization.objects.get(slug="demo")
    ]


def test_a_superuser_sets_the_quotas(client, demo):
    org = Organization.objects.get(slug="demo")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        url(Organization, "change", org.pk),
        organization_form(org, slug="demo", requests_per_minute="120", import_points_per_device_day="2000"),
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.requests_per_minute, org.import_points_per_device_day) == (120, 2000)
    add_page = client.get(url(Organization, "add"))
    assert add_page.status_code == 200
    assert "Sites are added once the organization exists." in add_page.content.decode()


def test_adding_a_site_from_an_organization_page_starts_in_its_time_zone(client, demo):
    org = Organization.objects.get(slug="demo")
    org.time_zone = "America/Chicago"
    org.save()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    form = client.get(url(Site, "add"), {"organization": org.pk}).context["adminform"].form

    assert (form.initial["organization"], form.initial["time_zone"]) == (str(org.pk), "America/Chicago")


def test_a_manager_of_no_organization_is_refused(client, demo):
    client.force_login(UserFactory(is_staff=True))
    org = Organization.objects.get(slug="demo")

    assert client.get(url(Organization, "change", org.pk)).status_code == 403
