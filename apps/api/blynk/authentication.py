"""Who is calling the Blynk dialect: a Bearer access token on the datastream endpoints, an OAuth
client (HTTP Basic or query parameters) on the token endpoint. Both give a Principal."""

from django.http import QueryDict
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.access.models import Dialect
from apps.access.principal import Principal
from apps.access.selectors import oauth_client_authenticate
from apps.api.common.authentication import BearerJWTAuthentication, basic_credentials

from .errors import CLIENT_CHALLENGE

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class BlynkAuthentication(BearerJWTAuthentication):
    """Access tokens from POST /oauth2/token: organization-level (client credentials) or acting
    for a user (user credentials), whose role permissions the Principal carries."""

    dialect = Dialect.BLYNK


def token_params(request) -> QueryDict:
    """The token endpoint's parameters: the query string, as Blynk's examples send them, plus
    an `application/x-www-form-urlencoded` body, as RFC 6749 sends them (the query string wins
    where both hold a name). Any other body is ignored."""
    params = request.query_params.copy()
    if request.content_type.split(";")[0].strip().lower() == FORM_MEDIA_TYPE:
        for name, values in request.data.lists():
            if name not in params:
                params.setlist(name, values)
    return params


class BlynkClientAuthentication(BaseAuthentication):
    """The OAuth client of a token request, by HTTP Basic (`-u client_id:client_secret`) or by
    the `client_id` and `client_secret` parameters; Basic wins when both are present.

    No credentials at all: None (the view answers invalid_client); wrong ones: AuthenticationFailed.
    """

    def authenticate(self, request):
        credentials = basic_credentials(request)
        if credentials is None:
            params = token_params(request)
            client_id, secret = params.get("client_id"), params.get("client_secret")
            if client_id is None and secret is None:
                return None
            credentials = (client_id or "", secret or "")
        client = oauth_client_authenticate(
            client_id=credentials[0], secret=credentials[1], dialect=Dialect.BLYNK
        )
        if client is None:
            raise AuthenticationFailed("Unknown client or wrong client secret.")
        principal = Principal(organization=client.organization, dialect=Dialect.BLYNK, client=client)
        return (None, principal)

    def authenticate_header(self, request) -> str:
        return CLIENT_CHALLENGE
