"""Organization scoping of the admin: a member of organization A never sees or reaches
organization B's objects, by changelist, change, delete or history URL, search, filters,
foreign-key choices, autocomplete, actions or the chart JSON; superusers see everything."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.access.models import ApiToken, OAuthClient
from apps.access.services import refresh_token_issue
from apps.alarms.demo import alarms_demo_seed
from apps.alarms.models import Delivery, Webhook
from apps.imports.models import ImportJob
from apps.inventory.demo import demo_seed
from apps.inventory.models import Device, Load, Partition, Signal
from apps.tenancy.admin_scoping import OrganizationScopedAdmin
from apps.tenancy.models import Membership, Organization, Role
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from tests.factories import DeviceFactory, OrganizationFactory, SeriesFactory, UserFactory

pytestmark = pytest.mark.django_db

# Installation-wide, not organization data: reachable with auth permissions (no shipped role has
# them, and only superusers grant roles that carry them) or, for roles, read-only to members.
UNSCOPED = {"User", "Group", "Role"}


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def scoped_admins():
    return [(m, a) for m, a in admin.site._registry.items() if isinstance(a, OrganizationScopedAdmin)]


def in_organization(model_admin, organization):
    lookup = model_admin.organization_lookup
    return model_admin.model.objects.filter(**{lookup: organization.pk if lookup == "pk" else organization})


@pytest.fixture
def two_tenants(demo, other_demo):
    """Both demo organizations, each with a refresh token and an import job, so that every
    registered model has objects on both sides."""
    for slug in ("demo", "other"):
        organization = Organization.objects.get(slug=slug)
        client = OAuthClient.objects.get(client_id=f"{slug}-blynk")
        refresh_token_issue(client=client, lifetime=timedelta(days=1))
        ImportJob.objects.create(organization=organization, dialect="csv")
        alarms_demo_seed(slug=slug)  # rules, recipients and an open alarm
        webhook = Webhook.objects.create(
            organization=organization, name="ops", url="https://example.com/", secret="s"
        )
        Delivery.objects.create(organization=organization, channel="webhook", webhook=webhook, payload={})
    return Organization.objects.get(slug="demo"), Organization.objects.get(slug="other")


@pytest.fixture
def manager(two_tenants):
    """A facility manager of the demo organization only."""
    demo, _ = two_tenants
    user = UserFactory(username="manager@demo.example", is_staff=True)
    membership_grant(user=user, organization=demo, role_slugs=["facility-manager"])
    return user


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def demo_admin_client(client, two_tenants):
    """The demo's admin-site user: facility manager, token administrator and API in demo."""
    assert client.login(username="admin", password="s3cret!")
    return client


@pytest.fixture
def superuser_client(client, two_tenants):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_every_registered_admin_of_organization_data_is_scoped():
    unscoped = {
        m.__name__ for m, a in admin.site._registry.items() if not isinstance(a, OrganizationScopedAdmin)
    }

    assert unscoped == UNSCOPED


def test_a_member_sees_only_their_organizations_objects_on_every_changelist(demo_admin_client, two_tenants):
    demo, other = two_tenants
    checked = []
    for model, model_admin in scoped_admins():
        response = demo_admin_client.get(url(model, "changelist"))
        if response.status_code == 403:
            continue
        assert response.status_code == 200, model
        shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
        assert in_organization(model_admin, other).exists(), model
        assert shown == set(in_organization(model_admin, demo).values_list("pk", flat=True)), model
        checked.append(model.__name__)

    assert {"Device", "Signal", "Series", "ApiToken", "OAuthClient", "RefreshToken", "Membership"} <= set(
        checked
    )


def test_another_organizations_objects_cannot_be_reached_by_url(demo_admin_client, two_tenants):
    _, other = two_tenants
    for model, model_admin in scoped_admins():
        if model is Organization:
            continue
        theirs = in_organization(model_admin, other).first()
        for view in ("change", "delete", "history"):
            response = demo_admin_client.get(url(model, view, theirs.pk))
            assert response.status_code in (302, 403, 404), (model, view)
            if response.status_code == 302:
                assert response.url == reverse("admin:index"), (model, view)
        response = demo_admin_client.post(url(model, "delete", theirs.pk), {"post": "yes"})
        assert response.status_code in (302, 403, 404)
        assert model.objects.filter(pk=theirs.pk).exists(), model


def test_the_chart_json_of_another_organizations_signal_is_not_found(manager_client, two_tenants):
    demo, other = two_tenants
    ours = Signal.objects.get(organization=demo, uid=3)
    theirs = Signal.objects.get(organization=other, uid=3)

    assert manager_client.get(f"/admin/inventory/signal/{ours.pk}/chart/").status_code == 200
    response = manager_client.get(f"/admin/inventory/signal/{theirs.pk}/chart/")

    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


def test_the_series_chart_json_of_another_organization_is_not_found(manager_client, two_tenants):
    _, other = two_tenants
    theirs = Series.objects.filter(organization=other).first()

    assert manager_client.get(url(Series, "chart", theirs.pk)).status_code == 404


def test_search_finds_nothing_of_another_organization(manager_client, two_tenants):
    _, other = two_tenants
    DeviceFactory(organization=other, label="Their secret plant")

    response = manager_client.get(url(Device, "changelist") + "?q=secret+plant")
    assert list(response.context["cl"].result_list) == []
    response = manager_client.get(url(Device, "changelist") + "?q=other")
    assert list(response.context["cl"].result_list) == []


def test_filtering_by_another_organization_shows_nothing(manager_client, two_tenants):
    _, other = two_tenants

    response = manager_client.get(url(Device, "changelist") + f"?organization__id__exact={other.pk}")

    assert list(response.context["cl"].result_list) == []


def test_autocomplete_offers_only_the_members_objects(manager_client, two_tenants):
    demo, _ = two_tenants

    response = manager_client.get(
        "/admin/autocomplete/",
        {"app_label": "inventory", "model_name": "load", "field_name": "device", "term": ""},
    )

    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert ids == set(Device.objects.filter(organization=demo).values_list("pk", flat=True))


def test_foreign_key_choices_are_the_members_organizations_objects(demo_admin_client, two_tenants):
    demo, other = two_tenants
    response = demo_admin_client.get(url(ApiToken, "add"))
    form = response.context["adminform"].form
    assert set(form.fields["user"].queryset) == {
        m.user for m in Membership.objects.filter(organization=demo).select_related("user")
    }
    response = demo_admin_client.get(url(OAuthClient, "add"))
    form = response.context["adminform"].form
    assert set(form.fields["partitions"].queryset) == set(Partition.objects.filter(organization=demo))
    response = demo_admin_client.get(url(Signal, "add"))
    form = response.context["adminform"].form
    assert set(form.fields["load"].queryset) == set(Load.objects.filter(organization=demo))
    assert set(form.fields["series"].queryset) == set(Series.objects.filter(organization=demo))
    assert not set(form.fields["series"].queryset) & set(Series.objects.filter(organization=other))


def test_another_organizations_object_cannot_be_linked_nor_named_by_raw_id(manager_client, two_tenants):
    _, other = two_tenants
    their_device = DeviceFactory(organization=other, label="Their secret plant")

    response = manager_client.post(
        url(Load, "add"), {"device": their_device.pk, "uid": 7, "label": "X", "index": 1, "type": 0}
    )

    assert response.status_code == 200
    assert "device" in response.context["adminform"].form.errors
    assert "Their secret plant" not in response.content.decode()
    assert not Load.objects.filter(label="X").exists()


def test_actions_never_touch_another_organizations_objects(manager_client, two_tenants):
    _, other = two_tenants
    theirs = Device.objects.filter(organization=other).order_by("pk").first()

    manager_client.post(
        url(Device, "changelist"),
        {"action": "delete_selected", "_selected_action": [theirs.pk], "post": "yes"},
    )

    assert Device.objects.filter(pk=theirs.pk).exists()


def test_credential_actions_never_touch_another_organizations_tokens(demo_admin_client, two_tenants):
    _, other = two_tenants
    theirs = ApiToken.objects.get(organization=other, revoked_at=None)

    demo_admin_client.post(url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [theirs.pk]})

    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_member_of_one_organization_adds_objects_to_it_without_choosing(manager_client, two_tenants):
    demo, _ = two_tenants
    add_page = manager_client.get(url(Series, "add"))
    assert "organization" not in add_page.context["adminform"].form.fields

    response = manager_client.post(url(Series, "add"), {"name": "Gas meter", "unit": "m3", "kind": "counter"})

    assert response.status_code == 302
    assert Series.objects.get(name="Gas meter").organization == demo


def test_uniqueness_in_the_organization_is_checked_when_it_is_implied(manager_client, two_tenants):
    response = manager_client.post(
        url(Series, "add"), {"name": "Dup", "meter_code": "my_meter_code1", "kind": "measurement"}
    )

    assert response.status_code == 200
    assert "series_org_meter_code_uniq" in str(response.context["errors"])
    assert not Series.objects.filter(name="Dup").exists()


def test_a_member_of_several_organizations_chooses_among_theirs(client, two_tenants):
    demo, other = two_tenants
    OrganizationFactory(name="Third")
    user = UserFactory(is_staff=True)
    for organization in (demo, other):
        membership_grant(user=user, organization=organization, role_slugs=["facility-manager"])
    client.force_login(user)

    form = client.get(url(Series, "add")).context["adminform"].form
    assert set(form.fields["organization"].queryset) == {demo, other}
    response = client.post(
        url(Series, "add"), {"organization": other.pk, "name": "New", "kind": "measurement"}
    )
    assert response.status_code == 302
    assert Series.objects.get(name="New").organization == other
    changelist = client.get(url(Device, "changelist"))
    [organization_filter] = [
        f for f in changelist.context["cl"].filter_specs if f.field_path == "organization"
    ]
    assert {label for _, label in organization_filter.lookup_choices} == {demo.name, other.name}


def test_a_member_of_one_organization_has_no_organization_filter(manager_client, two_tenants):
    changelist = manager_client.get(url(Device, "changelist"))

    assert not [f for f in changelist.context["cl"].filter_specs if f.field_path == "organization"]


def test_roles_in_one_organization_give_nothing_on_another_organizations_objects(client, two_tenants):
    demo, other = two_tenants
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=demo, role_slugs=["token-administrator"])
    membership_grant(user=user, organization=other, role_slugs=["facility-manager"])
    client.force_login(user)
    their_token = ApiToken.objects.get(organization=other, revoked_at=None)

    tokens = client.get(url(ApiToken, "changelist")).context["cl"].queryset
    assert set(tokens) == set(ApiToken.objects.filter(organization=demo))
    assert client.get(url(ApiToken, "change", their_token.pk)).status_code == 302
    devices = client.get(url(Device, "changelist")).context["cl"].queryset
    assert set(devices) == set(Device.objects.filter(organization=other))
    assert user.has_perm("access.change_apitoken")
    assert not user.has_perm("access.change_apitoken", their_token)
    assert user.has_perm("inventory.change_device", devices.first())
    assert not user.has_perm("inventory.change_device", Device.objects.filter(organization=demo).first())


def test_a_superuser_sees_every_organization_with_an_organization_filter(superuser_client, two_tenants):
    for model, model_admin in scoped_admins():
        response = superuser_client.get(url(model, "changelist"))
        assert response.status_code == 200, model
        assert set(response.context["cl"].queryset) == set(model.objects.all()), model
        if model is not Organization:
            paths = [f.field_path for f in response.context["cl"].filter_specs if hasattr(f, "field_path")]
            assert model_admin.organization_lookup in paths, model


def test_memberships_and_roles_a_token_administrator_may_grant(demo_admin_client, two_tenants):
    demo, other = two_tenants
    rogue = Role.objects.create(name="User administrator", slug="user-admin")
    rogue.permissions.set(Permission.objects.filter(codename="change_user"))
    member = UserFactory()
    membership = membership_grant(user=member, organization=demo, role_slugs=["blynk-viewer"])
    membership.roles.add(rogue)

    listed = demo_admin_client.get(url(Membership, "changelist")).context["cl"].queryset
    assert set(listed) == set(Membership.objects.filter(organization=demo))
    page = demo_admin_client.get(url(Membership, "change", membership.pk))
    roles = set(page.context["adminform"].form.fields["roles"].queryset)
    assert rogue not in roles
    assert {"api", "facility-manager", "token-administrator"} <= {role.slug for role in roles}

    api = Role.objects.get(slug="api")
    response = demo_admin_client.post(url(Membership, "change", membership.pk), {"roles": [api.pk]})

    assert response.status_code == 302
    assert set(membership.roles.values_list("slug", flat=True)) == {"api", "user-admin"}
    response = demo_admin_client.post(url(Membership, "change", membership.pk), {"roles": [rogue.pk]})
    assert response.status_code == 200
    assert "roles" in response.context["adminform"].form.errors
    other_membership = Membership.objects.filter(organization=other).first()
    assert demo_admin_client.get(url(Membership, "change", other_membership.pk)).status_code == 302


def test_a_token_administrator_adds_a_member_of_their_organization_only(demo_admin_client, two_tenants):
    demo, other = two_tenants
    stranger = UserFactory()
    form = demo_admin_client.get(url(Membership, "add")).context["adminform"].form
    assert "organization" not in form.fields
    assert stranger not in set(form.fields["user"].queryset)
    their_admin = Membership.objects.get(organization=other, user__username="other-admin").user

    response = demo_admin_client.post(url(Membership, "add"), {"user": their_admin.pk, "roles": []})

    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(organization=demo, user=their_admin).exists()


def test_members_with_an_organization_role_see_their_organization_but_not_its_limits(client, two_tenants):
    demo, other = two_tenants
    role = Role.objects.create(name="Site owner", slug="site-owner")
    role.permissions.set(Permission.objects.filter(codename__in=["view_organization", "change_organization"]))
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=demo, role_slugs=["site-owner"])
    client.force_login(user)

    listed = client.get(url(Organization, "changelist")).context["cl"].queryset
    assert list(listed) == [demo]
    assert client.get(url(Organization, "change", other.pk)).status_code == 302
    assert client.get(url(Organization, "add")).status_code == 403
    form = client.get(url(Organization, "change", demo.pk)).context["adminform"].form
    assert "requests_per_minute" not in form.fields
    assert "time_zone" in form.fields


def test_member_pages_answer_200_for_every_model_they_may_view(demo_admin_client, two_tenants):
    demo, _ = two_tenants
    user = Membership.objects.get(organization=demo, user__username="admin").user
    request = request_for(user)
    pages = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        pages += [url(model, "changelist"), url(model, "changelist") + "?q=1"]
        if model_admin.has_add_permission(request):
            pages.append(url(model, "add"))
        ours = model_admin.get_queryset(request).order_by("pk").first()
        if ours is not None:
            pages.append(url(model, "change", ours.pk))

    failures = [
        (page, status) for page in pages if (status := demo_admin_client.get(page).status_code) != 200
    ]

    assert failures == []
    assert len(pages) > 3 * 12


def test_member_changelists_run_a_fixed_number_of_queries_whatever_the_number_of_rows(client, two_tenants):
    demo, other = two_tenants
    user = UserFactory(is_staff=True)
    for organization in (demo, other):
        membership_grant(
            user=user, organization=organization, role_slugs=["facility-manager", "token-administrator"]
        )
    client.force_login(user)
    request = request_for(user)
    models = [m for m, a in admin.site._registry.items() if a.has_view_permission(request)]

    def queries_per_changelist() -> dict[str, int]:
        counts = {}
        for model in models:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url(model, "changelist")).status_code == 200
            counts[model.__name__] = len(queries)
        return counts

    before = queries_per_changelist()
    demo_seed(slug="second")
    for _ in range(3):
        DeviceFactory(organization=demo)
        SeriesFactory(organization=other)
        ImportJob.objects.create(organization=demo, dialect="csv")

    assert len(models) >= 12
    assert queries_per_changelist() == before
