"""`Authorization: Token <key>`: ioTORQ API keys (apps.access.ApiToken), stored hashed.

The messages are those of DRF's TokenAuthentication, which ioTORQ's own answers look like.
"""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from apps.access.models import Dialect
from apps.access.principal import Principal
from apps.access.selectors import api_token_for_key
from apps.tenancy.models import Membership


class TokenAuthentication(BaseAuthentication):
    """The key's user must still be an active member of the key's organization: removing someone
    from an organization stops their keys at once, as revoking them would."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) == 1:
            raise AuthenticationFailed("Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise AuthenticationFailed("Invalid token header. Token string should not contain spaces.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed(
                "Invalid token header. Token string should not contain invalid characters."
            ) from exc
        token = api_token_for_key(key=key)
        if (
            token is None
            or not Membership.objects.filter(
                user_id=token.user_id, organization_id=token.organization_id
            ).exists()
        ):
            raise AuthenticationFailed("Invalid token.")
        principal = Principal(
            organization=token.organization, dialect=Dialect.IOTORQ, user=token.user, token=token
        )
        return (token.user, principal)

    def authenticate_header(self, request) -> str:
        return self.keyword
