"""Bearer-JWT authentication shared by the Blynk, Building X and EMS gateway dialects."""

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
