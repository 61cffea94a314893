from rest_framework.exceptions import AuthenticationFailed

from apps.access.models import Dialect
from apps.api.common.authentication import BearerJWTAuthentication


class BuildingXAuthentication(BearerJWTAuthentication):
    """Tokens of POST /oauth/token. Each acts for one machine user (an OAuth client); a token
    naming no client could not be checked against the client's partitions, so it is refused.
    A revoked client's tokens stop working at once (principal_for_claims)."""

    dialect = Dialect.BUILDINGX

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and result[1].client is None:
            raise AuthenticationFailed("Invalid or expired token.")
        return result
