from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from apps.access.hashing import secret_digest
from apps.access.models import ApiToken, Dialect, OAuthClient, RefreshToken
from apps.access.selectors import api_token_for_key, oauth_client_authenticate, principal_for_claims
from apps.access.services import (
    api_token_issue,
    api_token_revoke,
    oauth_client_issue,
    oauth_client_secret_rotate,
    refresh_token_consume,
    refresh_token_issue,
)
from apps.access.tokens import jwt_claims, jwt_issue
from apps.tenancy.services import membership_grant
from tests.factories import UserFactory


def issued_claims(*, dialect: str, **subjects) -> dict:
    """The claims of a token as jwt_issue makes them (a user's carry their password digest)."""
    return jwt_claims(dialect=dialect, token=jwt_issue(dialect=dialect, lifetime_seconds=60, **subjects))


def database_text() -> str:
    """Every credential column as stored, to prove no secret is kept in plaintext."""
    rows = []
    with connection.cursor() as cursor:
        for table in (ApiToken, OAuthClient, RefreshToken):
            cursor.execute(f"SELECT * FROM {table._meta.db_table}")
            rows += [" ".join(map(str, row)) for row in cursor.fetchall()]
    return "\n".join(rows)


def test_api_token_is_stored_as_a_digest_and_found_by_its_key(org):
    user = UserFactory()

    issued = api_token_issue(organization=org, user=user, name="meter gateway")

    assert issued.secret not in database_text()
    assert issued.credential.digest == secret_digest(issued.secret)
    found = api_token_for_key(key=issued.secret)
    assert (found.pk, found.user, found.organization) == (issued.credential.pk, user, org)
    found.refresh_from_db()
    assert found.last_used_at is not None


def test_unknown_revoked_and_inactive_users_tokens_are_not_found(org):
    user = UserFactory()
    revoked = api_token_issue(organization=org, user=user)
    api_token_revoke(token=revoked.credential)
    inactive = api_token_issue(organization=org, user=UserFactory(is_active=False))

    assert api_token_for_key(key="not-a-key") is None
    assert api_token_for_key(key=revoked.secret) is None
    assert api_token_for_key(key=inactive.secret) is None


def test_oauth_client_authenticates_with_its_secret_for_its_dialect_only(org):
    issued = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app")
    client_id = issued.credential.client_id

    assert issued.secret not in database_text()
    assert oauth_client_authenticate(client_id=client_id, secret=issued.secret, dialect=Dialect.BLYNK)
    assert oauth_client_authenticate(client_id=client_id, secret="wrong", dialect=Dialect.BLYNK) is None
    assert (
        oauth_client_authenticate(client_id=client_id, secret=issued.secret, dialect=Dialect.BUILDINGX)
        is None
    )


def test_rotating_a_client_secret_retires_the_old_one(org):
    issued = oauth_client_issue(organization=org, dialect=Dialect.BUILDINGX, name="bms")

    rotated = oauth_client_secret_rotate(client=issued.credential)

    client_id = issued.credential.client_id
    assert oauth_client_authenticate(client_id=client_id, secret=issued.secret, dialect="buildingx") is None
    assert oauth_client_authenticate(client_id=client_id, secret=rotated.secret, dialect="buildingx")


def test_a_refresh_token_works_once(org):
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    issued = refresh_token_issue(client=client, lifetime=timedelta(days=30))

    assert issued.secret not in database_text()
    assert refresh_token_consume(client=client, secret=issued.secret) == issued.credential
    assert refresh_token_consume(client=client, secret=issued.secret) is None


def test_a_refresh_token_expires_and_belongs_to_its_client(org):
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    stranger = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="other").credential
    issued = refresh_token_issue(client=client, lifetime=timedelta(days=30))

    assert refresh_token_consume(client=stranger, secret=issued.secret) is None
    with time_machine.travel(timedelta(days=31)):
        assert refresh_token_consume(client=client, secret=issued.secret) is None


@pytest.mark.django_db
def test_digests_are_hex_sha256():
    assert secret_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_client_claim_is_its_live_client_of_that_organization_and_dialect(org, other_org):
    client = oauth_client_issue(organization=org, dialect=Dialect.BUILDINGX, name="bms").credential
    claims = {"org": org.pk, "client": client.pk}

    principal = principal_for_claims(dialect=Dialect.BUILDINGX, claims=claims)

    assert (principal.organization, principal.client, principal.user) == (org, client, None)
    assert principal.permissions is None
    assert principal_for_claims(dialect=Dialect.BLYNK, claims=claims) is None
    assert principal_for_claims(dialect=Dialect.BUILDINGX, claims={**claims, "org": other_org.pk}) is None
    OAuthClient.objects.filter(pk=client.pk).update(revoked_at=client.created_at)
    assert principal_for_claims(dialect=Dialect.BUILDINGX, claims=claims) is None


def test_a_user_claim_is_an_active_member_with_the_permissions_held_now(org, other_org):
    user = UserFactory()
    membership_grant(user=user, organization=org, role_slugs=["blynk-viewer"])
    claims = issued_claims(dialect=Dialect.BLYNK, organization=org, user=user)

    principal = principal_for_claims(dialect=Dialect.BLYNK, claims=claims)

    assert (principal.organization, principal.user, principal.client) == (org, user, None)
    assert principal.permissions == {"ORG_DEVICES_VIEW"}
    assert principal_for_claims(dialect=Dialect.BLYNK, claims={**claims, "org": other_org.pk}) is None
    membership_grant(user=user, organization=org, role_slugs=["blynk-operator"])
    assert principal_for_claims(dialect=Dialect.BLYNK, claims=claims).permissions == {
        "ORG_DEVICES_VIEW",
        "ORG_DEVICES_CONTROL",
        "ORG_DEVICE_DATA_IMPORT",
    }
    user.is_active = False
    user.save()
    assert principal_for_claims(dialect=Dialect.BLYNK, claims=claims) is None


def test_claims_of_a_deleted_organization_name_nobody(org):
    user = UserFactory()
    membership_grant(user=user, organization=org, role_slugs=["api"])
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    claims = [
        {"org": org.pk},
        issued_claims(dialect=Dialect.BLYNK, organization=org, user=user),
        {"org": org.pk, "client": client.pk},
    ]
    assert all(principal_for_claims(dialect=Dialect.BLYNK, claims=c) is not None for c in claims)

    org.delete()

    assert [principal_for_claims(dialect=Dialect.BLYNK, claims=c) for c in claims] == [None, None, None]


def test_a_claim_is_resolved_in_one_query_and_a_users_permissions_in_one_more(org, django_assert_num_queries):
    """Every request of three dialects pays this: the password check of a user's token reads the
    user row the membership query joins anyway."""
    user = UserFactory()
    membership_grant(user=user, organization=org, role_slugs=["api"])
    client = oauth_client_issue(organization=org, dialect=Dialect.BLYNK, name="app").credential
    user_claims = issued_claims(dialect=Dialect.BLYNK, organization=org, user=user, client=client)

    with django_assert_num_queries(1):
        assert principal_for_claims(dialect=Dialect.BLYNK, claims={"org": org.pk, "client": client.pk})
    with django_assert_num_queries(3):
        assert principal_for_claims(dialect=Dialect.BLYNK, claims=user_claims).user == user
    with django_assert_num_queries(2):
        assert principal_for_claims(dialect=Dialect.BLYNK, claims={**user_claims, "cred": "stale"}) is None
