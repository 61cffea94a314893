"""Issuing and revoking credentials. The plaintext secret is returned once and never stored."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Invalid
from apps.core.text import NUL
from apps.tenancy.models import Membership

from .hashing import (
    seal,
    secret_digest,
    secret_generate,
    unseal,
    user_credentials_digest,
    user_credentials_match,
)
from .logins import organization_member_for_login
from .models import ApiToken, OAuthClient, RefreshToken, ShownOnceSecret
from .tokens import jwt_issue

T = TypeVar("T")


@dataclass(frozen=True)
class Issued(Generic[T]):
    """A credential and its secret, which exists only in this object."""

    credential: T
    secret: str


def api_token_issue(*, organization, user, name: str = "") -> Issued[ApiToken]:
    key = secret_generate()
    token = ApiToken.objects.create(
        organization=organization, user=user, name=name, prefix=key[:8], digest=secret_digest(key)
    )
    return Issued(token, key)


def _revoke(credential: ApiToken | OAuthClient) -> bool:
    """Set `revoked_at` unless it is set; whether this call set it. Revocation is one-way: the
    database refuses to clear or move it (migration 0004), so a credential never comes back; one
    conditional UPDATE, so two concurrent revocations keep the first time."""
    now = timezone.now()
    revoked = type(credential).objects.filter(pk=credential.pk, revoked_at=None).update(revoked_at=now)
    credential.revoked_at = now if revoked else type(credential).objects.get(pk=credential.pk).revoked_at
    return bool(revoked)


def api_token_revoke(*, token: ApiToken) -> bool:
    """Requests with the key are refused from now on, for good; False if it was revoked already."""
    return _revoke(token)


def oauth_client_issue(
    *, organization, dialect: str, name: str, client_id: str | None = None, partitions=()
) -> Issued[OAuthClient]:
    secret = secret_generate()
    client = OAuthClient.objects.create(
        organization=organization,
        dialect=dialect,
        name=name,
        client_id=client_id or secret_generate(16),
        secret_digest=secret_digest(secret),
    )
    if partitions:
        client.partitions.set(partitions)
    return Issued(client, secret)


def oauth_client_revoke(*, client: OAuthClient) -> bool:
    """The client's secret and every token issued to it stop working, for good (a new client is
    the way back); False if it was revoked already."""
    return _revoke(client)


def oauth_client_secret_rotate(*, client: OAuthClient) -> Issued[OAuthClient]:
    """A new secret for a live client; the old one stops working at once. A revoked client's
    secret is not rotated (Invalid): it could never be used."""
    if client.revoked_at is not None:
        raise Invalid(f"The client {client.client_id} is revoked: create a new client instead.")
    secret = secret_generate()
    client.secret_digest = secret_digest(secret)
    client.save(update_fields=["secret_digest"])
    return Issued(client, secret)


def refresh_token_issue(*, client: OAuthClient, user=None, lifetime: timedelta) -> Issued[RefreshToken]:
    secret = secret_generate()
    token = RefreshToken.objects.create(
        client=client,
        user=user,
        digest=secret_digest(secret),
        credentials="" if user is None else user_credentials_digest(user=user),
        expires_at=timezone.now() + lifetime,
    )
    return Issued(token, secret)


@transaction.atomic
def refresh_token_consume(*, client: OAuthClient, secret: str) -> RefreshToken | None:
    """Mark a refresh token used and return it; None if unknown, expired, reused or another client's.

    The row lock makes "works once" hold under concurrent refreshes.
    """
    token = (
        RefreshToken.objects.select_for_update()
        .filter(client=client, digest=secret_digest(secret), used_at=None, expires_at__gt=timezone.now())
        .first()
    )
    if token is None:
        return None
    token.used_at = timezone.now()
    token.save(update_fields=["used_at"])
    return token


def password_login(*, username: str, password: str, permission: str, request=None):
    """The (user, organization) for a username and password whose user holds `permission`
    (a role permission codename) in an organization; None otherwise.

    A user holding it in several organizations logs in to the one they joined first. `request`
    goes to Django's authenticate() (and its login signals), which is how django-axes tells an
    API login, which it leaves alone, from the admin's. A username holding a NUL names nobody
    (and is not looked up: PostgreSQL refuses the query, see apps.core.text).
    """
    if NUL in username:
        return None
    user = authenticate(request, username=username, password=password)
    if user is None:
        return None
    membership = (
        Membership.objects.filter(user=user, roles__permissions__codename=permission)
        .select_related("organization")
        .order_by("created_at", "pk")
        .first()
    )
    return None if membership is None else (user, membership.organization)


def organization_user_login(*, organization, username: str, password: str):
    """The active member of `organization` whose username or e-mail address (case-insensitive)
    is `username` and whose password is `password`; None otherwise.

    For OAuth clients that log users in (Blynk's user_credentials grant): the client belongs to
    one organization, so only that organization's members can log in through it. A wrong name
    costs one password hash too, so timing does not tell which names exist. A name holding a NUL
    names nobody (no name can hold one, so its timing tells nothing) and is not looked up:
    PostgreSQL refuses the query (apps.core.text).
    """
    if NUL in username:
        return None  # before the decoy hash below: see the docstring
    user = organization_member_for_login(organization=organization, username=username)
    if user is None:
        get_user_model()().set_password(password)
        return None
    return user if user.check_password(password) else None


@dataclass(frozen=True)
class TokenPair:
    """An OAuth access token (JWT) with its lifetime in seconds, and a single-use refresh token."""

    access_token: str
    expires_in: int
    refresh_token: str


def oauth_token_pair_issue(
    *, client: OAuthClient, user=None, access_lifetime_seconds: int, refresh_lifetime_seconds: int
) -> TokenPair:
    """An access token of the client's dialect for its organization (acting for `user` when
    given, so limited by that user's role permissions) and a refresh token for the same pair."""
    access = jwt_issue(
        dialect=client.dialect,
        organization=client.organization,
        client=client,
        user=user,
        lifetime_seconds=access_lifetime_seconds,
    )
    refresh = refresh_token_issue(
        client=client, user=user, lifetime=timedelta(seconds=refresh_lifetime_seconds)
    )
    return TokenPair(access_token=access, expires_in=access_lifetime_seconds, refresh_token=refresh.secret)


@transaction.atomic
def oauth_token_refresh(
    *, client: OAuthClient, secret: str, access_lifetime_seconds: int, refresh_lifetime_seconds: int
) -> TokenPair | None:
    """A new token pair for a refresh token of `client`, which is used up; None when the refresh
    token is unknown, expired, already used or another client's, or when its user has since been
    deactivated, left the organization or had their password changed (the refresh token is used
    up then too).

    One transaction: the refresh token is never used up without a new pair being issued.
    """
    token = refresh_token_consume(client=client, secret=secret)
    if token is None:
        return None
    user = token.user
    if user is not None and (
        not user.is_active
        or not user_credentials_match(user=user, digest=token.credentials)
        or not Membership.objects.filter(user=user, organization_id=client.organization_id).exists()
    ):
        return None
    return oauth_token_pair_issue(
        client=client,
        user=user,
        access_lifetime_seconds=access_lifetime_seconds,
        refresh_lifetime_seconds=refresh_lifetime_seconds,
    )


# A secret whose page is not opened within this long is never shown.
SHOWN_ONCE_SECONDS = 10 * 60


def shown_once_stash(*, session_key: str, payload: dict) -> str:
    """Keep `payload` (JSON; new secrets and what the page says about them) for one showing to
    the session `session_key`, for SHOWN_ONCE_SECONDS at most; the ticket that finds it.

    The row holds the payload sealed with a key derived from the ticket, and only digests of the
    ticket and the session: the database alone never reveals a secret. Expired rows go first.
    """
    now = timezone.now()
    shown_once_prune(now=now)
    ticket = secret_generate(16)
    ShownOnceSecret.objects.create(
        ticket_digest=secret_digest(ticket),
        session_digest=secret_digest(session_key),
        sealed=seal(json.dumps(payload).encode(), ticket=ticket),
        expires_at=now + timedelta(seconds=SHOWN_ONCE_SECONDS),
    )
    return ticket


def shown_once_pop(*, ticket: str, session_key: str) -> dict | None:
    """The payload kept under `ticket` for the session `session_key`, deleted as it is read:
    None once shown, expired, or asked for by another session (which does not use it up).

    Of concurrent requests only the one whose DELETE removed the row gets it: the DELETE's row
    count is the claim (PostgreSQL's second DELETE waits for the first and then finds nothing;
    SQLite runs them one after the other).
    """
    rows = ShownOnceSecret.objects.filter(
        ticket_digest=secret_digest(ticket),
        session_digest=secret_digest(session_key),
        expires_at__gt=timezone.now(),
    )
    entry = rows.first()
    if entry is None or rows.delete()[0] != 1:
        return None
    data = unseal(entry.sealed, ticket=ticket, max_age_seconds=SHOWN_ONCE_SECONDS)
    return None if data is None else json.loads(data)


def shown_once_prune(*, now: datetime | None = None) -> int:
    """Delete the secrets whose time to be shown is over; how many. Idempotent (a beat task)."""
    return ShownOnceSecret.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]
