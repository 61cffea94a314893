"""Bearer-JWT authentication shared by the Blynk, Building X and EMS gateway dialects, and the
HTTP Basic client credentials of their OAuth token endpoints."""

import base64
import binascii

from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from apps.access.principal import Principal
from apps.access.selectors import principal_for_claims
from apps.access.tokens import jwt_claims


class BearerJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <JWT>` issued by this dialect; the result is a Principal in
    `request.auth` (and its user, if any, in `request.user`).

    simplejwt's JWTAuthentication, by its documented hooks: `get_raw_token` reads the header
    (the scheme in any case, the dialects' messages), `get_validated_token` verifies the token as
    the dialect's (apps.access.tokens: its own token type, HS256, expiry) and gives its claims,
    and `get_user` finds the Principal they name, so a revoked client or a changed password ends
    the token at once. Errors are DRF's AuthenticationFailed with a plain message, which every
    dialect renders in its shape (simplejwt's own carry a dict)."""

    dialect: str = ""
    www_authenticate = "Bearer"

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        principal = result[0]
        return (principal.user, principal)

    def authenticate_header(self, request) -> str:
        return self.www_authenticate

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> dict:
        try:
            token = raw_token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        claims = jwt_claims(dialect=self.dialect, token=token)
        if claims is None:
            raise AuthenticationFailed("Invalid or expired token.")
        return claims

    def get_user(self, validated_token: dict) -> Principal:
        principal = principal_for_claims(dialect=self.dialect, claims=validated_token)
        if principal is None:
            raise AuthenticationFailed("Invalid or expired token.")
        return principal


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
