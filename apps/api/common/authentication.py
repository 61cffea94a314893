"""Bearer-JWT authentication shared by the Blynk, Building X and EMS gateway dialects, and the
HTTP Basic client credentials of their OAuth token endpoints."""

import base64
import binascii

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from apps.access.selectors import principal_for_claims
from apps.access.tokens import jwt_claims


class BearerJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <JWT>` issued by this dialect; the result is a Principal in
    `request.auth` (and its user, if any, in `request.user`)."""

    dialect: str = ""
    www_authenticate = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        claims = jwt_claims(dialect=self.dialect, token=token)
        principal = principal_for_claims(dialect=self.dialect, claims=claims) if claims else None
        if principal is None:
            raise AuthenticationFailed("Invalid or expired token.")
        return (principal.user, principal)

    def authenticate_header(self, request) -> str:
        return self.www_authenticate


def basic_credentials(request) -> tuple[str, str] | None:
    """The (client_id, client_secret) of an `Authorization: Basic` header (RFC 6749 §2.3.1, the
    default client authentication of OAuth libraries), or None without one. A malformed header
    (not base64, not UTF-8, no colon) raises AuthenticationFailed: the client tried to
    authenticate and failed, which each dialect answers as wrong credentials."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != b"basic":
        return None
    try:
        if len(parts) != 2:
            raise ValueError
        client_id, separator, secret = (
            base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")
        )
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise AuthenticationFailed("Malformed HTTP Basic credentials.") from exc
    if not separator:
        raise AuthenticationFailed("Malformed HTTP Basic credentials.")
    return client_id, secret
