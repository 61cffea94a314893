"""Finding the credential a request presents."""

from django.utils import timezone

from apps.core.text import NUL
from apps.tenancy.models import Membership, Organization
from apps.tenancy.selectors import membership_permissions

from .hashing import secret_digest, secret_matches, user_credentials_match
from .models import ApiToken, OAuthClient
from .principal import Principal


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The live token for `key` (with its user and organization), recording when it was used."""
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(digest=secret_digest(key), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is not None:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def oauth_client_authenticate(*, client_id: str, secret: str, dialect: str) -> OAuthClient | None:
    """The live client of `dialect` whose id and secret match, else None. An id holding a NUL
    matches none (and is not looked up: PostgreSQL refuses the query, see apps.core.text)."""
    if NUL in client_id:
        return None
    client = (
        OAuthClient.objects.select_related("organization")
        .filter(client_id=client_id, dialect=dialect, revoked_at=None)
        .first()
    )
    if client is None or not secret_matches(secret, client.secret_digest):
        return None
    OAuthClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client


def principal_for_claims(*, dialect: str, claims: dict) -> Principal | None:
    """The Principal a verified JWT stands for, or None when what it names is gone: the
    organization deleted, the user deactivated, out of the organization or with another password
    than when the token was issued (its `cred` claim), the client revoked.

    User-scoped tokens carry the user's role permissions as they are now, not as they were when
    the token was issued, so revoking a role takes effect at once.

    Runs on every request of three dialects, so each credential kind is one query with its
    organization joined (a user adds the one query of their permissions): each ORM query costs
    0.5-1.3 ms of CPU to compile, depending on the machine, a sizeable part of a small request.
    """
    organization_id = claims.get("org")
    organization = user = client = permissions = None
    if "client" in claims:
        client = (
            OAuthClient.objects.select_related("organization")
            .filter(pk=claims["client"], organization_id=organization_id, dialect=dialect, revoked_at=None)
            .first()
        )
        if client is None:
            return None
        organization = client.organization
    if "user" in claims:
        membership = (
            Membership.objects.select_related("user", "organization")
            .filter(user_id=claims["user"], user__is_active=True, organization_id=organization_id)
            .first()
        )
        if membership is None or not user_credentials_match(user=membership.user, digest=claims.get("cred")):
            return None
        user, organization = membership.user, membership.organization
        permissions = frozenset(membership_permissions(user=user, organization=organization))
    if organization is None:
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            return None
    return Principal(
        organization=organization, dialect=dialect, user=user, client=client, permissions=permissions
    )
