"""Revocation is one-way: a revoked OAuth client or API token, or a used refresh token, never
works again. The admin shows `revoked_at` read-only and revokes through a confirmation page or
an action; the database refuses any change to a revocation or a use once recorded, whatever code
path (form, queryset update, raw SQL) tries it."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.access.models import ApiToken, Dialect, OAuthClient, RefreshToken
from apps.access.selectors import oauth_client_authenticate, principal_for_claims
from apps.access.services import (
    api_token_issue,
    api_token_revoke,
    oauth_client_issue,
    oauth_client_revoke,
    refresh_token_consume,
    refresh_token_issue,
)
from apps.access.tokens import jwt_claims, jwt_issue
from tests.factories import UserFactory

from .conftest import url

pytestmark = pytest.mark.django_db


def client_claims(client: OAuthClient) -> dict:
    token = jwt_issue(
        dialect=client.dialect, organization=client.organization, client=client, lifetime_seconds=600
    )
    return jwt_claims(dialect=client.dialect, token=token)


def refused_by_the_database(write) -> bool:
    try:
        with transaction.atomic():
            write()
    except IntegrityError:
        return True
    return False


def test_clearing_revoked_at_in_the_admin_form_does_not_bring_a_client_back(token_admin, demo_org):
    issued = oauth_client_issue(organization=demo_org, dialect=Dialect.BUILDINGX, name="Machine user")
    client = issued.credential
    claims = client_claims(client)
    oauth_client_revoke(client=client)
    change = url(OAuthClient, "change", client.pk)
    assert "revoked_at" not in token_admin.get(change).context["adminform"].form.fields

    response = token_admin.post(
        change, {"name": "Renamed", "revoked_at_0": "", "revoked_at_1": "", "partitions": []}
    )

    assert response.status_code == 302
    client.refresh_from_db()
    assert client.name == "Renamed"
    assert client.revoked_at is not None
    assert principal_for_claims(dialect=Dialect.BUILDINGX, claims=claims) is None
    assert (
        oauth_client_authenticate(client_id=client.client_id, secret=issued.secret, dialect="buildingx")
        is None
    )


def test_a_client_is_revoked_from_its_change_page_and_its_tokens_stop_working(token_admin, demo_org):
    issued = oauth_client_issue(organization=demo_org, dialect=Dialect.BLYNK, name="Phone app")
    client = issued.credential
    claims = client_claims(client)
    revoke = url(OAuthClient, "revoke", client.pk)
    assert revoke in token_admin.get(url(OAuthClient, "change", client.pk)).content.decode()
    assert token_admin.get(revoke).status_code == 200  # "are you sure?"
    assert principal_for_claims(dialect=Dialect.BLYNK, claims=claims) is not None

    response = token_admin.post(revoke)

    assert response.status_code == 302
    client.refresh_from_db()
    assert client.revoked_at is not None
    assert principal_for_claims(dialect=Dialect.BLYNK, claims=claims) is None
    assert (
        oauth_client_authenticate(client_id=client.client_id, secret=issued.secret, dialect="blynk") is None
    )
    assert LogEntry.objects.filter(object_id=str(client.pk), change_message="Revoked.").exists()
    change_page = token_admin.get(url(OAuthClient, "change", client.pk)).content.decode()
    assert revoke not in change_page
    assert url(OAuthClient, "rotate_secret", client.pk) not in change_page


def test_the_revoke_action_revokes_the_live_selected_clients_and_says_how_many(token_admin, demo_org):
    live = oauth_client_issue(organization=demo_org, dialect=Dialect.BLYNK, name="live").credential
    revoked = oauth_client_issue(organization=demo_org, dialect=Dialect.BLYNK, name="revoked").credential
    oauth_client_revoke(client=revoked)
    revoked_at = OAuthClient.objects.get(pk=revoked.pk).revoked_at

    response = token_admin.post(
        url(OAuthClient, "changelist"),
        {"action": "revoke", "_selected_action": [live.pk, revoked.pk]},
        follow=True,
    )

    assert "Revoked 1 client." in [str(m) for m in response.context["messages"]]
    assert OAuthClient.objects.get(pk=live.pk).revoked_at is not None
    assert OAuthClient.objects.get(pk=revoked.pk).revoked_at == revoked_at


def test_a_revoked_clients_secret_is_not_rotated(token_admin, demo_org):
    """A new secret for a revoked client would never work: a new client is the way back."""
    client = oauth_client_issue(organization=demo_org, dialect=Dialect.BLYNK, name="gone").credential
    oauth_client_revoke(client=client)
    digest = OAuthClient.objects.get(pk=client.pk).secret_digest

    page = token_admin.post(url(OAuthClient, "rotate_secret", client.pk), follow=True)
    action = token_admin.post(
        url(OAuthClient, "changelist"),
        {"action": "rotate_secret", "_selected_action": [client.pk]},
        follow=True,
    )

    for response in (page, action):
        assert response.context.get("entries") is None
        assert any("revoked" in str(m) for m in response.context["messages"])
    assert OAuthClient.objects.get(pk=client.pk).secret_digest == digest


def test_revoking_twice_keeps_the_first_time(org):
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    token = api_token_issue(organization=org, user=UserFactory()).credential

    assert oauth_client_revoke(client=client) is True
    assert api_token_revoke(token=token) is True
    first = (OAuthClient.objects.get().revoked_at, ApiToken.objects.get().revoked_at)
    stale_client, stale_token = OAuthClient.objects.get(), ApiToken.objects.get()
    stale_client.revoked_at = stale_token.revoked_at = None  # as loaded before another revoked it

    assert oauth_client_revoke(client=stale_client) is False
    assert api_token_revoke(token=stale_token) is False
    assert (OAuthClient.objects.get().revoked_at, ApiToken.objects.get().revoked_at) == first


@pytest.mark.parametrize(
    ("model", "column"), [(OAuthClient, "revoked_at"), (ApiToken, "revoked_at"), (RefreshToken, "used_at")]
)
def test_the_database_refuses_to_clear_or_move_a_revocation_or_a_use(org, model, column):
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    token = api_token_issue(organization=org, user=UserFactory()).credential
    refresh = refresh_token_issue(client=client, lifetime=timedelta(days=1))
    oauth_client_revoke(client=client)
    api_token_revoke(token=token)
    refresh_token_consume(client=client, secret=refresh.secret)
    row = model.objects.get()
    table = connection.ops.quote_name(model._meta.db_table)

    assert refused_by_the_database(lambda: model.objects.update(**{column: None}))
    assert refused_by_the_database(lambda: model.objects.update(**{column: timezone.now()}))
    setattr(row, column, None)
    assert refused_by_the_database(row.save)

    def raw_sql():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = NULL")

    assert refused_by_the_database(raw_sql)
    assert getattr(model.objects.get(), column) is not None
    model.objects.update(**{"last_used_at" if model is not RefreshToken else "expires_at": timezone.now()})
