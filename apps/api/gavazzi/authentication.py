from rest_framework.exceptions import AuthenticationFailed

from apps.access.models import Dialect
from apps.api.common.authentication import BearerJWTAuthentication

API_PERMISSION = "EMS_API"


class GavazziAuthentication(BearerJWTAuthentication):
    """Login tokens of the EMS gateway; they stop working as soon as the user loses the API role."""

    dialect = Dialect.GAVAZZI

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and not result[1].has_permission(API_PERMISSION):
            raise AuthenticationFailed("The user no longer holds the API role.")
        return result
