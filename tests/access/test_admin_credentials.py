"""Credentials in the admin: API tokens issued and revoked, OAuth clients created and their secrets
rotated, each secret shown exactly once on a confirmation page; partitions granted to Building X
clients; credential pages closed to facility managers."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from apps.access.hashing import secret_digest
from apps.access.models import ApiToken, OAuthClient
from apps.access.selectors import api_token_for_key, oauth_client_authenticate
from apps.access.services import api_token_issue, oauth_client_issue
from apps.inventory.models import Partition
from apps.tenancy.models import Organization, Role
from apps.tenancy.services import membership_grant
from tests.factories import PartitionFactory, UserFactory

from .conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(demo_org):
    user = UserFactory(username="meter-reader")
    membership_grant(user=user, organization=demo_org, role_slugs=["api"])
    return user


def shown(response) -> list[dict]:
    """The entries of the one-time page, checked to be on the page itself."""
    entries = response.context["entries"] or []
    content = response.content.decode()
    for entry in entries:
        assert entry["secret"] in content
    return entries


def assert_never_shown_again(client, secret: str, *pages: str) -> None:
    for page in pages:
        response = client.get(page)
        assert secret not in response.content.decode(), page
    for entry in LogEntry.objects.all():
        assert secret not in f"{entry.object_repr} {entry.change_message}"
    assert secret not in str(dict(client.session))


def test_issuing_a_token_shows_its_key_once_on_a_confirmation_page(token_admin, demo_org, member):
    form = token_admin.get(url(ApiToken, "add")).context["adminform"].form
    assert set(form.fields) == {"user", "name"}  # the organization is the token admin's only one

    response = token_admin.post(url(ApiToken, "add"), {"user": member.pk, "name": "import"})

    assert response.status_code == 302
    confirmation = response.url
    assert "/shown-once/" in confirmation
    page = token_admin.get(confirmation)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    [entry] = shown(page)
    key = entry["secret"]
    assert key not in confirmation
    token = ApiToken.objects.get(name="import")
    assert (token.organization, token.user) == (demo_org, member)
    assert token.digest == secret_digest(key)
    assert token.prefix == key[:8]
    assert api_token_for_key(key=key) == token
    content = page.content.decode()
    assert "I have stored it" in content
    assert url(ApiToken, "change", token.pk) in content

    reload = token_admin.get(confirmation)

    assert reload.status_code == 410
    assert key not in reload.content.decode()
    assert_never_shown_again(
        token_admin,
        key,
        url(ApiToken, "change", token.pk),
        url(ApiToken, "changelist"),
        url(ApiToken, "history", token.pk),
    )


def test_a_confirmation_page_shows_nothing_in_another_session(token_admin, member):
    response = token_admin.post(url(ApiToken, "add"), {"user": member.pk})
    other_session = Client()
    assert other_session.login(username="admin", password="s3cret!")

    page = other_session.get(response.url)

    assert page.status_code == 410
    assert page.context["entries"] is None
    assert token_admin.get(response.url).status_code == 200  # still there for its own session


def test_a_token_for_a_user_outside_the_organization_is_refused(token_admin):
    stranger = UserFactory()

    response = token_admin.post(url(ApiToken, "add"), {"user": stranger.pk})

    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not ApiToken.objects.filter(user=stranger).exists()


def test_a_token_is_revoked_from_its_change_page(token_admin, demo_org, member):
    issued = api_token_issue(organization=demo_org, user=member)
    token = issued.credential
    change = token_admin.get(url(ApiToken, "change", token.pk))
    revoke = url(ApiToken, "revoke", token.pk)
    assert revoke in change.content.decode()
    assert token_admin.get(revoke).status_code == 200  # "are you sure?"
    assert api_token_for_key(key=issued.secret) == token

    response = token_admin.post(revoke)

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_for_key(key=issued.secret) is None
    assert LogEntry.objects.filter(object_id=str(token.pk), change_message="Revoked.").exists()


def test_the_revoke_action_revokes_the_live_selected_tokens_and_says_how_many(token_admin, demo_org, member):
    live = api_token_issue(organization=demo_org, user=member)
    revoked = api_token_issue(organization=demo_org, user=member)
    token_admin.post(
        url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [revoked.credential.pk]}
    )

    response = token_admin.post(
        url(ApiToken, "changelist"),
        {"action": "revoke", "_selected_action": [live.credential.pk, revoked.credential.pk]},
        follow=True,
    )

    assert "Revoked 1 token." in [str(m) for m in response.context["messages"]]
    assert api_token_for_key(key=live.secret) is None


def test_token_lists_show_when_each_was_last_used(token_admin, demo_org, member):
    issued = api_token_issue(organization=demo_org, user=member, name="used")
    api_token_for_key(key=issued.secret)

    response = token_admin.get(url(ApiToken, "changelist"))

    assert "last_used_at" in response.context["cl"].list_display
    token = next(t for t in response.context["cl"].result_list if t.name == "used")
    assert token.last_used_at is not None


@pytest.mark.parametrize("dialect", ["blynk", "buildingx"])
def test_creating_a_client_shows_its_secret_once(token_admin, demo_org, dialect):
    response = token_admin.post(url(OAuthClient, "add"), {"dialect": dialect, "name": "Gateway"}, follow=True)

    assert response.status_code == 200
    [entry] = shown(response)
    client = OAuthClient.objects.get(name="Gateway")
    assert client.organization == demo_org
    assert entry["client_id"] == client.client_id
    assert client.secret_digest == secret_digest(entry["secret"])
    assert (
        oauth_client_authenticate(client_id=client.client_id, secret=entry["secret"], dialect=dialect)
        == client
    )
    reload = token_admin.get(response.redirect_chain[-1][0])
    assert reload.status_code == 410
    assert_never_shown_again(token_admin, entry["secret"], url(OAuthClient, "change", client.pk))


def test_rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops_working(token_admin, demo_org):
    issued = oauth_client_issue(organization=demo_org, dialect="buildingx", name="Machine user")
    client = issued.credential
    rotate = url(OAuthClient, "rotate_secret", client.pk)
    assert rotate in token_admin.get(url(OAuthClient, "change", client.pk)).content.decode()
    assert token_admin.get(rotate).status_code == 200  # "are you sure?"

    response = token_admin.post(rotate, follow=True)

    [entry] = shown(response)
    new_secret = entry["secret"]
    assert new_secret != issued.secret
    authenticate = oauth_client_authenticate
    assert authenticate(client_id=client.client_id, secret=issued.secret, dialect="buildingx") is None
    assert authenticate(client_id=client.client_id, secret=new_secret, dialect="buildingx") == client
    assert token_admin.get(response.redirect_chain[-1][0]).status_code == 410
    assert_never_shown_again(
        token_admin, new_secret, url(OAuthClient, "change", client.pk), url(OAuthClient, "history", client.pk)
    )


def test_the_rotate_action_shows_every_new_secret_once_on_one_page(token_admin, demo_org):
    clients = [
        oauth_client_issue(organization=demo_org, dialect=dialect, name=dialect)
        for dialect in ("blynk", "buildingx")
    ]

    response = token_admin.post(
        url(OAuthClient, "changelist"),
        {"action": "rotate_secret", "_selected_action": [c.credential.pk for c in clients]},
        follow=True,
    )

    entries = shown(response)
    assert len(entries) == 2
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Rotated the secret of 2 clients") for m in messages)
    for issued in clients:
        client_id, dialect = issued.credential.client_id, issued.credential.dialect
        [entry] = [e for e in entries if e["client_id"] == client_id]
        assert oauth_client_authenticate(client_id=client_id, secret=issued.secret, dialect=dialect) is None
        assert oauth_client_authenticate(client_id=client_id, secret=entry["secret"], dialect=dialect)


def test_partitions_are_granted_among_the_clients_organizations_only(token_admin, demo_org, other_world):
    other = Organization.objects.get(slug="other")
    theirs = Partition.objects.get(organization=other)
    ours = Partition.objects.get(organization=demo_org)
    second = PartitionFactory(organization=demo_org)
    client = oauth_client_issue(organization=demo_org, dialect="buildingx", name="Machine user").credential
    change = url(OAuthClient, "change", client.pk)
    form = token_admin.get(change).context["adminform"].form
    assert set(form.fields["partitions"].queryset) == {ours, second}

    refused = token_admin.post(change, {"name": client.name, "partitions": [theirs.pk]})
    assert refused.status_code == 200
    assert "partitions" in refused.context["adminform"].form.errors
    granted = token_admin.post(change, {"name": client.name, "partitions": [second.pk]})

    assert granted.status_code == 302
    assert list(client.partitions.all()) == [second]


def test_partitions_are_for_building_x_clients_only(token_admin, demo_org):
    partition = Partition.objects.get(organization=demo_org)

    response = token_admin.post(
        url(OAuthClient, "add"), {"dialect": "blynk", "name": "Phone app", "partitions": [partition.pk]}
    )

    assert response.status_code == 200
    assert "Building X" in str(response.context["adminform"].form.errors["partitions"])
    assert not OAuthClient.objects.filter(name="Phone app").exists()


def test_a_token_administrator_grants_the_api_role_to_a_member(token_admin, demo_org, member):
    membership = member.memberships.get(organization=demo_org)
    roles = dict(Role.objects.values_list("slug", "pk"))

    response = token_admin.post(
        reverse("admin:tenancy_membership_change", args=[membership.pk]),
        {"roles": [roles["api"], roles["blynk-viewer"]]},
    )

    assert response.status_code == 302
    assert set(membership.roles.values_list("slug", flat=True)) == {"api", "blynk-viewer"}


@pytest.fixture
def manager_client(client, demo_org):  # tests/conftest.py's, of demo_org (where the credentials are)
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=demo_org, role_slugs=["facility-manager"])
    client.force_login(user)
    return client


def test_a_facility_manager_gets_403_on_every_credential_page(manager_client, demo_org, member):
    token = api_token_issue(organization=demo_org, user=member).credential
    client = oauth_client_issue(organization=demo_org, dialect="blynk", name="Gateway").credential
    pages = [
        url(ApiToken, "changelist"),
        url(ApiToken, "add"),
        url(ApiToken, "change", token.pk),
        url(ApiToken, "revoke", token.pk),
        url(ApiToken, "shown_once", "any-ticket"),
        url(OAuthClient, "changelist"),
        url(OAuthClient, "add"),
        url(OAuthClient, "change", client.pk),
        url(OAuthClient, "rotate_secret", client.pk),
        url(OAuthClient, "shown_once", "any-ticket"),
        reverse("admin:access_refreshtoken_changelist"),
        reverse("admin:tenancy_membership_changelist"),
    ]

    assert {page: manager_client.get(page).status_code for page in pages} == dict.fromkeys(pages, 403)
    assert manager_client.post(url(ApiToken, "add"), {"user": member.pk}).status_code == 403
    assert manager_client.post(url(OAuthClient, "rotate_secret", client.pk)).status_code == 403
    assert not ApiToken.objects.filter(pk__gt=token.pk).exists()
