from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.access.hashing import secret_digest
from apps.access.models import ApiToken, OAuthClient
from apps.access.selectors import api_token_for_key, oauth_client_authenticate
from apps.access.services import api_token_issue, oauth_client_issue, refresh_token_issue
from apps.inventory.demo import demo_seed
from apps.inventory.models import DataStream, Device, Load
from apps.tenancy.admin import RoleAdmin
from apps.tenancy.models import Role
from apps.tenancy.services import membership_grant
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, UserFactory
from tests.worlds import METERBUS_MAIN_CONFIG

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def demo(db):
    """The demo seed, so that every registered model has rows (a refresh token too)."""
    result = demo_seed(slug="demo")
    client = OAuthClient.objects.get(client_id=result["blynk"]["client_id"])
    refresh_token_issue(client=client, lifetime=timedelta(days=1))
    return result


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def shown_secrets(response) -> list[str]:
    """The secrets on the one-time confirmation page a credential action led to."""
    secrets = [entry["secret"] for entry in response.context["entries"] or []]
    assert all(secret in response.content.decode() for secret in secrets)
    return secrets


def form_data(response) -> dict:
    """The POST data a browser would send back for the rendered change form, inlines included."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def test_every_registered_admin_page_answers_200(admin_client, superuser, demo):
    request = RequestFactory().get("/")
    request.user = superuser
    pages = []
    for model, model_admin in admin.site._registry.items():
        pages += [url(model, "changelist"), url(model, "changelist") + "?q=1"]
        if model_admin.has_add_permission(request):
            pages.append(url(model, "add"))
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages.append(url(model, "change", first.pk))

    failures = [(page, status) for page in pages if (status := admin_client.get(page).status_code) != 200]

    assert failures == []
    assert len(pages) > 3 * 14


def test_changelists_run_a_fixed_number_of_queries_whatever_the_number_of_rows(admin_client, demo):
    def queries_per_changelist() -> dict[str, int]:
        counts = {}
        for model in admin.site._registry:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(url(model, "changelist")).status_code == 200
            counts[model.__name__] = len(queries)
        return counts

    before = queries_per_changelist()
    demo_seed(slug="second")
    demo_seed(slug="third")

    assert queries_per_changelist() == before


def test_admin_add_pages_exist_except_for_refresh_tokens(admin_client):
    assert admin_client.get("/admin/access/apitoken/add/").status_code == 200
    assert admin_client.get("/admin/access/oauthclient/add/").status_code == 200
    assert admin_client.get("/admin/access/refreshtoken/add/").status_code == 403


def test_series_change_page_shows_its_latest_samples(admin_client, org):
    series = SeriesFactory(organization=org)
    ts = [1_700_000_000_000 + i * 60_000 for i in range(60)]
    write(SampleBatch([series.pk] * 60, ts, [1000.0 + i for i in range(60)]), Policy.OVERWRITE)

    response = admin_client.get(url(type(series), "change", series.pk))

    assert response.status_code == 200
    shown = response.context["latest_samples"]
    assert [row["ts"] for row in shown] == ts[::-1][:50]
    content = response.content.decode()
    assert "Latest samples" in content
    assert "1059.0" in content
    assert "2023-11-14 23:12:20.000" in content  # the newest, 1_700_003_540_000
    assert "1009.0" not in content


def test_series_change_page_without_samples_says_so(admin_client, series):
    response = admin_client.get(url(type(series), "change", series.pk))

    assert response.status_code == 200
    assert "No samples yet." in response.content.decode()


def test_adding_an_api_token_shows_its_key_once_and_stores_only_the_digest(admin_client, org):
    user = UserFactory()
    membership_grant(user=user, organization=org, role_slugs=["api"])
    add_page = admin_client.get(url(ApiToken, "add"))
    assert set(add_page.context["adminform"].form.fields) == {"organization", "user", "name"}

    response = admin_client.post(
        url(ApiToken, "add"), {"organization": org.pk, "user": user.pk, "name": "import"}, follow=True
    )

    assert response.status_code == 200
    [key] = shown_secrets(response)
    token = ApiToken.objects.get()
    assert (token.organization, token.user, token.name) == (org, user, "import")
    assert token.digest == secret_digest(key)
    assert token.prefix == key[:8]
    assert api_token_for_key(key=key) == token
    change_page = admin_client.get(url(ApiToken, "change", token.pk)).content.decode()
    list_page = admin_client.get(url(ApiToken, "changelist")).content.decode()
    for page in (change_page, list_page):
        assert key not in page
        assert token.digest not in page


def test_adding_an_api_token_for_a_non_member_is_refused(admin_client, org):
    stranger = UserFactory()

    response = admin_client.post(url(ApiToken, "add"), {"organization": org.pk, "user": stranger.pk})

    assert response.status_code == 200
    assert "not a member" in str(response.context["adminform"].form.errors["user"])
    assert not ApiToken.objects.exists()


def test_adding_an_oauth_client_generates_its_id_and_shows_its_secret_once(admin_client, org):
    response = admin_client.post(
        url(OAuthClient, "add"), {"organization": org.pk, "dialect": "blynk", "name": "Gateway"}, follow=True
    )

    assert response.status_code == 200
    [secret] = shown_secrets(response)
    client = OAuthClient.objects.get()
    assert client.client_id
    assert client.secret_digest == secret_digest(secret)
    assert oauth_client_authenticate(client_id=client.client_id, secret=secret, dialect="blynk") == client


def test_revoke_action_revokes_the_live_selected_tokens_and_says_how_many(admin_client, org):
    user = UserFactory()
    live = api_token_issue(organization=org, user=user)
    other = api_token_issue(organization=org, user=user)
    admin_client.post(
        url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [other.credential.pk]}
    )

    response = admin_client.post(
        url(ApiToken, "changelist"),
        {"action": "revoke", "_selected_action": [live.credential.pk, other.credential.pk]},
        follow=True,
    )

    assert "Revoked 1 token." in [str(m) for m in response.context["messages"]]
    assert api_token_for_key(key=live.secret) is None


def test_rotate_secret_action_shows_each_new_secret_once(admin_client, org):
    clients = [
        oauth_client_issue(organization=org, dialect=dialect, name=dialect)
        for dialect in ("blynk", "buildingx")
    ]

    response = admin_client.post(
        url(OAuthClient, "changelist"),
        {"action": "rotate_secret", "_selected_action": [c.credential.pk for c in clients]},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Rotated the secret of 2 clients") for m in messages)
    new_secrets = shown_secrets(response)
    assert len(new_secrets) == 2
    for issued in clients:
        client_id, dialect = issued.credential.client_id, issued.credential.dialect
        assert oauth_client_authenticate(client_id=client_id, secret=issued.secret, dialect=dialect) is None
        assert any(
            oauth_client_authenticate(client_id=client_id, secret=secret, dialect=dialect)
            for secret in new_secrets
        )


def test_only_superusers_may_edit_role_definitions(superuser):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["add_role", "change_role", "delete_role"])
    )
    role_admin = RoleAdmin(Role, admin.site)
    request = RequestFactory().get("/")

    request.user = staff
    assert not role_admin.has_add_permission(request)
    assert not role_admin.has_change_permission(request)
    assert not role_admin.has_delete_permission(request)
    request.user = superuser
    assert role_admin.has_add_permission(request)
    assert role_admin.has_change_permission(request)
    assert role_admin.has_delete_permission(request)


def test_device_inline_adds_a_load_in_the_devices_organization(admin_client, world):
    device = Device.objects.get(organization__slug="demo", uid=82)
    change_url = url(Device, "change", device.pk)
    data = form_data(admin_client.get(change_url))
    count = int(data["loads-TOTAL_FORMS"])
    data.update(
        {"loads-TOTAL_FORMS": str(count + 1), f"loads-{count}-uid": "84", f"loads-{count}-label": "Spare"}
    )
    data[f"loads-{count}-index"], data[f"loads-{count}-type"], data[f"loads-{count}-enable"] = "2", "0", "on"

    response = admin_client.post(change_url, data)

    assert response.status_code == 302, response.context["errors"]
    load = Load.objects.get(device=device, uid=84)
    assert load.organization_id == device.organization_id


def test_device_inline_refuses_a_load_uid_taken_in_the_organization(admin_client, world):
    device = Device.objects.get(organization__slug="demo", uid=82)
    change_url = url(Device, "change", device.pk)
    data = form_data(admin_client.get(change_url))
    count = int(data["loads-TOTAL_FORMS"])
    data.update(
        {"loads-TOTAL_FORMS": str(count + 1), f"loads-{count}-uid": "2", f"loads-{count}-label": "Clash"}
    )
    data[f"loads-{count}-index"], data[f"loads-{count}-type"] = "1", "0"

    response = admin_client.post(change_url, data)

    assert response.status_code == 200
    assert "already exists" in str(response.context["errors"])
    assert not Load.objects.filter(label="Clash").exists()


def test_load_admin_refuses_a_device_of_another_organization(admin_client, world, org):
    device = Device.objects.get(organization__slug="demo", uid=1)

    response = admin_client.post(
        url(Load, "add"),
        {"organization": org.pk, "device": device.pk, "uid": 7, "label": "X", "index": 1, "type": 0},
    )

    assert response.status_code == 200
    assert "another organization" in str(response.context["adminform"].form.errors["device"])


def test_the_demo_admin_sees_what_its_roles_grant(client, world):
    client.login(username="admin", password="s3cret!")

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/inventory/device/").status_code == 200
    assert client.get("/admin/access/apitoken/").status_code == 200
    assert client.get("/admin/tenancy/role/").status_code == 200
    # A facility manager sees and edits their organization (its time zone: local days of charts).
    assert client.get("/admin/tenancy/organization/").status_code == 200
    assert client.get("/admin/tenancy/site/").status_code == 200


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "[]",
            "The protocol configuration must be a JSON object keyed by protocol (rtu, tcp, meterBus, "
            'virtual, P1), each holding an object, e.g. {"meterBus": {"ct": 10}}.',
        ),
        ('"ct=10"', "The protocol configuration must be a JSON object keyed by protocol"),
        ("5", "The protocol configuration must be a JSON object keyed by protocol"),
        ("null", "The protocol configuration must be a JSON object keyed by protocol"),
        (
            '{"meterbus": {"ct": 10}}',
            "'meterbus' is not a protocol: the keys are rtu, tcp, meterBus, virtual, P1.",
        ),
        ('{"meterBus": [10]}', "The configuration of 'meterBus' must be a JSON object."),
    ],
)
def test_load_admin_refuses_a_configuration_that_is_not_an_object_of_objects(
    admin_client, world, config, message
):
    load = Load.objects.get(organization__slug="demo", uid=2)
    change_url = url(Load, "change", load.pk)
    data = form_data(admin_client.get(change_url)) | {"config": config}

    response = admin_client.post(change_url, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["config"])
    load.refresh_from_db()
    assert load.config == {"meterBus": METERBUS_MAIN_CONFIG}


def test_load_admin_saves_a_configuration_keyed_by_protocol(admin_client, world):
    load = Load.objects.get(organization__slug="demo", uid=2)
    change_url = url(Load, "change", load.pk)
    data = form_data(admin_client.get(change_url)) | {"config": '{"meterBus": {"ct": 5}, "tcp": {}}'}

    response = admin_client.post(change_url, data)

    assert response.status_code == 302
    load.refresh_from_db()
    assert load.config == {"meterBus": {"ct": 5}, "tcp": {}}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"properties": "[]"},
            "properties",
            'Widget properties must be a JSON object, e.g. {"color": "#FF0000"}.',
        ),
        ({"properties": '"red"'}, "properties", "Widget properties must be a JSON object"),
        ({"value": '"warm"'}, "value", "The current value must be a number for a double datastream."),
        ({"value": "[1, 2]"}, "value", "The current value must be a number for a double datastream."),
        ({"value_type": "location", "value": "[200, 0]"}, "value", "must be [longitude, latitude] within"),
    ],
)
def test_datastream_admin_refuses_properties_and_values_that_do_not_fit(
    admin_client, world, changes, field, message
):
    stream = DataStream.objects.get(organization__slug="demo", device__uid=101, stream_id=1)
    change_url = url(DataStream, "change", stream.pk)
    data = form_data(admin_client.get(change_url)) | changes

    response = admin_client.post(change_url, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    after = DataStream.objects.get(pk=stream.pk)
    assert (after.properties, after.value, after.value_type) == (
        stream.properties,
        stream.value,
        stream.value_type,
    )
