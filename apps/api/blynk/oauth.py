"""POST /oauth2/token: the Blynk dialect's OAuth 2 token endpoint (API.md §2, RFC 6749)."""

from typing import ClassVar

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from apps.access.logins import login_throttle_key, organization_member_for_login
from apps.access.models import Dialect
from apps.access.services import (
    TokenPair,
    oauth_token_pair_issue,
    oauth_token_refresh,
    organization_user_login,
)
from apps.api.common.errors import OAuthError
from apps.api.common.login_failures import login_failures
from apps.api.common.views import DEFAULT_BODY_LIMIT, TenantViewSet
from apps.core.clients import client_address

from . import openapi
from .authentication import BlynkClientAuthentication, token_params
from .errors import token_exception_handler

GRANTS = ("client_credentials", "refresh_token", "user_credentials", "password")
# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenViewSet(TenantViewSet):
    """Issues an access token (a JWT, BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS) and a single-use
    refresh token to an authenticated client of the Blynk dialect:

    - `client_credentials`: an organization-level token (every permission in the organization);
    - `user_credentials` (or its RFC 6749 name `password`) with `username` (user name or e-mail
      address) and `password` of a member of the client's organization: a token acting for that
      user, limited by the user's role permissions;
    - `refresh_token`: a new pair for the same organization and user; each refresh token works once.
    """

    authentication_classes: ClassVar = [BlynkClientAuthentication]
    parser_classes: ClassVar = [FormParser]
    exception_handler = staticmethod(token_exception_handler)
    body_limit = DEFAULT_BODY_LIMIT

    @extend_schema(
        tags=["Blynk"],
        summary="Get an access token",
        description=openapi.GRANT_DESCRIPTION,
        parameters=openapi.TOKEN_PARAMETERS,
        request=None,
        responses={
            200: openapi.BlynkTokenSerializer,
            400: OpenApiResponse(
                openapi.BlynkOAuthErrorSerializer,
                description="invalid_request, invalid_grant, unauthorized_client or unsupported_grant_type",
            ),
            401: OpenApiResponse(openapi.BlynkOAuthErrorSerializer, description="invalid_client"),
            413: OpenApiResponse(openapi.BlynkOAuthErrorSerializer, description="invalid_request"),
            429: OpenApiResponse(
                openapi.BlynkOAuthErrorSerializer,
                description="slow_down: the organization's request limit, or 10 failed user logins a "
                "minute for one username and address",
            ),
            503: OpenApiResponse(openapi.BlynkOAuthErrorSerializer, description="temporarily_unavailable"),
        },
    )
    def create(self, request):
        params = token_params(request)
        grant = params.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "The grant_type parameter is required.")
        if grant not in GRANTS:
            raise OAuthError("unsupported_grant_type", f"The grant type {grant!r} is not supported.")
        lifetimes = {
            "access_lifetime_seconds": settings.BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS,
            "refresh_lifetime_seconds": settings.BLYNK_REFRESH_TOKEN_LIFETIME_SECONDS,
        }
        client = self.principal.client
        if grant == "client_credentials":
            pair = oauth_token_pair_issue(client=client, **lifetimes)
        elif grant == "refresh_token":
            secret = self.required(params, "refresh_token")
            pair = oauth_token_refresh(client=client, secret=secret, **lifetimes)
            if pair is None:
                raise OAuthError("invalid_grant", "The refresh token is invalid, expired or already used.")
        else:
            username, password = self.required(params, "username"), self.required(params, "password")
            # Failed logins are throttled like the EMS gateway's: 10 a minute per account and address.
            account = organization_member_for_login(organization=self.organization, username=username)
            who = login_throttle_key(username=username, account=account)
            throttle_key = (Dialect.BLYNK, who, client_address(request))
            if login_failures.blocked(*throttle_key):
                raise Throttled(wait=login_failures.window_seconds)
            user = organization_user_login(
                organization=self.organization, username=username, password=password
            )
            if user is None:
                login_failures.record_failure(*throttle_key)
                raise OAuthError("invalid_grant", "Wrong username or password.")
            pair = oauth_token_pair_issue(client=client, user=user, **lifetimes)
        return Response(self.body(pair), headers=NO_STORE)

    @staticmethod
    def required(params, name: str) -> str:
        value = params.get(name)
        if not value:
            raise OAuthError("invalid_request", f"The {name} parameter is required.")
        return value

    @staticmethod
    def body(pair: TokenPair) -> dict:
        return {
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
        }
