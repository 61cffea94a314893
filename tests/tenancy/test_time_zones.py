"""The time-zone fields offer current zones only (apps/tenancy/time_zones.py), and / and the
admin's "View site" link lead to the admin (issue #15 item 6)."""

import pytest
from django.urls import reverse

from apps.tenancy.models import Organization, Site
from apps.tenancy.time_zones import current_time_zones


def test_current_time_zones_leave_out_legacy_names_and_keep_utc():
    zones = current_time_zones()

    assert zones[0] == "UTC"
    assert {"Europe/Rome", "Europe/Lisbon", "America/New_York", "Asia/Kathmandu", "Pacific/Auckland"} <= set(
        zones
    )
    for legacy in ("Factory", "localtime", "EST", "GB", "PRC", "US/Eastern", "Etc/GMT+1", "Etc/UTC", "UCT"):
        assert legacy not in zones
    assert zones[1:] == sorted(zones[1:])
    assert 300 < len(zones) < 500


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Organization, Site])
def test_time_zone_fields_offer_the_current_zones_as_a_datalist(manager_client, org, model):
    path = reverse(
        f"admin:tenancy_{model._meta.model_name}_" + ("change" if model is Organization else "add"),
        args=[org.pk] if model is Organization else [],
    )

    page = manager_client.get(path).content.decode()

    assert 'list="ems-time-zones"' in page
    assert '<option value="Europe/Rome">' in page
    assert '<option value="Factory">' not in page


@pytest.mark.django_db
def test_a_legacy_zone_already_stored_is_still_accepted(manager_client, org):
    org.time_zone = "US/Eastern"
    org.save()
    page = manager_client.get(reverse("admin:tenancy_organization_change", args=[org.pk]))
    assert 'value="US/Eastern"' in page.content.decode()


@pytest.mark.django_db
def test_the_root_and_the_view_site_link_lead_to_the_admin(manager_client):
    response = manager_client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert 'href="/admin/">View site</a>' in manager_client.get("/admin/").content.decode()
