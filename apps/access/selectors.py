"""Finding the credential a request presents."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.tenancy.models import Membership, Organization
from apps.tenancy.selectors import membership_permissions

from .hashing import secret_digest, secret_matches
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
    """The live client of `dialect` whose id and secret match, else None."""
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
    organization deleted, the user deactivated or out of the organization, the client revoked.

    User-scoped tokens carry the user's role permissions as they are now, not as they were when
    the token was issued, so revoking a role takes effect at once.
    """
    organization = Organization.objects.filter(pk=claims.get("org")).first()
    if organization is None:
        return None
    user = client = permissions = None
    if "client" in claims:
        client = OAuthClient.objects.filter(
            pk=claims["client"], organization=organization, dialect=dialect, revoked_at=None
        ).first()
        if client is None:
            return None
    if "user" in claims:
        user = get_user_model().objects.filter(pk=claims["user"], is_active=True).first()
        if user is None or not Membership.objects.filter(user=user, organization=organization).exists():
            return None
        permissions = frozenset(membership_permissions(user=user, organization=organization))
    return Principal(
        organization=organization, dialect=dialect, user=user, client=client, permissions=permissions
    )
