"""The admin's tools as pages of the admin of the model each serves: the bulk configuration on
the devices' admin, the tool links on the admin index, the organizations an upload offers
(`admin_organizations`, the admins' one scoping), and the old admin/tools/ addresses."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from apps.inventory.models import Device, Signal
from apps.tenancy.admin_scoping import admin_organizations
from apps.tenancy.services import membership_grant
from tests.factories import OrganizationFactory, UserFactory, staff_user

CONFIG = "/admin/inventory/device/import-csv/"
TABLE = "device_uid,load_uid,signal_uid,signal_si\n1,2,3,31\n"
INVENTORY_PERMISSIONS = (
    *("add_device", "change_device", "add_load", "change_load", "add_signal", "change_signal"),
    *("add_series", "change_series"),
)


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def table(text: str = TABLE) -> SimpleUploadedFile:
    return SimpleUploadedFile("site.csv", text.encode(), content_type="text/csv")


# --- the bulk configuration, a page of the devices' admin ----------------------------------------


def test_the_configuration_applies_in_the_chosen_organization(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    preview = client.post(CONFIG, {"file": table(), "preview": "1"})
    applied = client.post(CONFIG, {"upload": preview.context["staged"].token, "apply": "Apply"})

    assert preview.status_code == 200
    assert '<a href="/admin/inventory/device/">Devices</a>' in preview.content.decode()
    assert (applied.status_code, applied["Location"]) == (
        302,
        f"/admin/inventory/device/?organization__id__exact={org.pk}",
    )
    assert list(Signal.objects.values_list("organization__slug", "uid")) == [("acme", 3)]


def test_another_organization_cannot_be_configured(client, org, other_org):
    # A member of the other organization too, with a role that grants nothing about devices there.
    user = staff_user(org, roles=["facility-manager"])
    membership_grant(user=user, organization=other_org, role_slugs=["api"])
    client.force_login(user)

    page = client.get(CONFIG)
    response = client.post(CONFIG, {"file": table(), "organization": other_org.pk, "apply": "Apply"})

    assert list(page.context["form"].fields["organization"].queryset) == [org]
    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert response.context["plan"] is None
    assert not Device.objects.exists()


def test_configuring_needs_every_inventory_permission(client, org):
    client.force_login(staff_user(org, *INVENTORY_PERMISSIONS[:-1], "view_device"))

    assert client.get(CONFIG).status_code == 403
    assert client.post(CONFIG, {"file": table(), "preview": "1"}).status_code == 403
    assert not Device.objects.exists()


def test_an_upload_without_a_file_is_a_form_error_and_writes_nothing(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    response = client.post(CONFIG, {"apply": "Apply"})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Choose a CSV file."]
    assert not Device.objects.exists()


def test_the_devices_list_offers_the_configuration_to_whoever_may_apply_it(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))
    manager = client.get("/admin/inventory/device/").content.decode()
    client.force_login(staff_user(org, "view_device", "change_device"))
    viewer = client.get("/admin/inventory/device/").content.decode()

    assert f'<a href="{CONFIG}" id="import-csv-link">Import CSV</a>' in manager
    assert 'id="import-csv-link"' not in viewer


# --- the admin index and the old addresses --------------------------------------------------------


def test_the_admin_index_links_the_tools_where_they_now_are(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))
    manager = client.get("/admin/").content.decode()
    client.force_login(staff_user(org, "view_series"))
    viewer = client.get("/admin/").content.decode()

    assert '<a href="/admin/imports/importjob/import-csv/">Import samples from CSV</a>' in manager
    assert '<a href="/admin/imports/importjob/?dialect__exact=csv">Recent CSV imports</a>' in manager
    assert f'<a href="{CONFIG}">Bulk configuration from CSV</a>' in manager
    assert 'id="ems-tools-links"' not in viewer


def test_the_old_tools_addresses_redirect_permanently(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    for old, new in {"/admin/tools/": "/admin/", "/admin/tools/configuration/": CONFIG}.items():
        response = client.get(old)
        assert (response.status_code, response["Location"]) == (301, new)


# --- the organizations an upload offers -----------------------------------------------------------


def organizations(user, *perms) -> list[str]:
    request = RequestFactory().get("/")
    request.user = user
    return sorted(admin_organizations(request, perms).values_list("slug", flat=True))


def test_an_upload_offers_the_organizations_where_the_user_holds_every_permission(org, other_org):
    OrganizationFactory(name="Third", slug="third")  # a member of nothing there
    user = staff_user(org, roles=["facility-manager"])
    membership_grant(user=user, organization=other_org, role_slugs=["api"])
    user.user_permissions.add(Permission.objects.get(codename="view_importjob"))

    assert organizations(user, "timeseries.change_series") == ["acme"]
    # A permission of the user's own holds in each of their organizations, never in another.
    assert organizations(user, "imports.view_importjob") == ["acme", "other"]
    assert organizations(user, "timeseries.change_series", "imports.view_importjob") == ["acme"]
    assert organizations(user, "tenancy.add_membership") == []
    assert organizations(UserFactory(is_superuser=True), "tenancy.add_membership") == [
        "acme",
        "other",
        "third",
    ]
