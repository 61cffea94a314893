"""Finding the credential a request presents."""

from django.utils import timezone

from .hashing import secret_digest, secret_matches
from .models import ApiToken, OAuthClient


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
