"""Siemens Building X dialect: Point Value Ingest (API.md §3). Views parse, call a selector or
service, render."""

from typing import ClassVar
from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from apps.access.models import Dialect
from apps.access.selectors import oauth_client_authenticate
from apps.access.tokens import jwt_issue
from apps.api.common import views as common
from apps.api.common.authentication import basic_credentials
from apps.api.common.errors import OAuthError
from apps.api.common.parsers import ORJSONParser
from apps.api.common.renderers import ORJSONRenderer
from apps.api.common.views import DEFAULT_BODY_LIMIT, PublicViewSet, TenantViewSet
from apps.timeseries import query
from apps.timeseries.models import MAX_TS_MS, MIN_TS_MS

from . import openapi, parsing, render
from .authentication import BuildingXAuthentication
from .errors import ACCESS_DENIED, BASIC_CHALLENGE, exception_handler, token_exception_handler
from .filters import PointValuesFilter
from .jsonapi import FirstRendererNegotiation, JSONAPIParser, JSONAPIRenderer
from .selectors import point_for_client
from .services import point_values_write

# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TAG = "Building X"


class TokenViewSet(PublicViewSet):
    """Machine-user client credentials for a JWT (BUILDINGX_TOKEN_LIFETIME_SECONDS), no refresh
    token. Errors in the OAuth shape."""

    parser_classes: ClassVar = [ORJSONParser, FormParser]
    renderer_classes: ClassVar = [ORJSONRenderer]
    content_negotiation_class = FirstRendererNegotiation
    exception_handler = staticmethod(token_exception_handler)
    body_limit = DEFAULT_BODY_LIMIT

    @extend_schema(
        tags=[TAG],
        summary="Create a token",
        description=openapi.TOKEN_DESCRIPTION,
        auth=[],
        request=openapi.BuildingXTokenRequestSerializer,
        responses=openapi.TOKEN_RESPONSES,
    )
    def create(self, request):
        media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in ("application/json", "application/x-www-form-urlencoded"):
            raise OAuthError(
                "invalid_request",
                "Content-Type must be application/json (or application/x-www-form-urlencoded).",
                status=415,
            )
        # The client by HTTP Basic (RFC 6749 §2.3.1, OAuth libraries' default) or by the body;
        # Basic wins when both are given, as in the Blynk dialect.
        try:
            basic = basic_credentials(request)
        except AuthenticationFailed as exc:
            raise OAuthError("access_denied", ACCESS_DENIED, status=401, headers=BASIC_CHALLENGE) from exc
        credentials = parsing.token_request(request.data, audience=settings.BUILDINGX_AUDIENCE, client=basic)
        client = oauth_client_authenticate(
            client_id=credentials.client_id, secret=credentials.client_secret, dialect=Dialect.BUILDINGX
        )
        if client is None:
            challenge = BASIC_CHALLENGE if basic else None
            raise OAuthError("access_denied", ACCESS_DENIED, status=401, headers=challenge)
        lifetime = settings.BUILDINGX_TOKEN_LIFETIME_SECONDS
        token = jwt_issue(
            dialect=Dialect.BUILDINGX,
            organization=client.organization,
            client=client,
            lifetime_seconds=lifetime,
        )
        return Response(
            {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}, headers=NO_STORE
        )


class PointValuesViewSet(TenantViewSet):
    """The values of one point: `create` (POST, the vendor's ingest) and `list` (GET, a project
    extension), under the path's partition and point."""

    authentication_classes: ClassVar = [BuildingXAuthentication]
    parser_classes: ClassVar = [JSONAPIParser, ORJSONParser]
    renderer_classes: ClassVar = [JSONAPIRenderer]
    content_negotiation_class = FirstRendererNegotiation
    exception_handler = staticmethod(exception_handler)
    body_limit = parsing.BODY_LIMIT
    filtersets: ClassVar = {"list": PointValuesFilter}

    def point(self):
        return point_for_client(
            organization=self.organization,
            client=self.principal.client,
            partition_id=self.kwargs["partitionId"],
            point_id=self.kwargs["pointId"],
        )

    @extend_schema(
        tags=[TAG],
        summary="Post values",
        description=openapi.POST_DESCRIPTION,
        parameters=[*openapi.PATH, openapi.OVERWRITE],
        request=openapi.BuildingXPointValuesSerializer,
        examples=[openapi.VENDOR_EXAMPLE],
        responses=openapi.POST_RESPONSES,
    )
    def create(self, request, **path):
        point = self.point()
        overwrite = parsing.overwrite_param(request.query_params)
        values = parsing.point_values(parsing.read_document(request))
        result = point_values_write(
            point=point, ts=values.ts, values=values.values, qualities=values.qualities, overwrite=overwrite
        )
        if not result.dropped:
            return Response(status=204)
        return Response(render.accepted(values, result.dropped), status=202)

    @extend_schema(
        tags=[TAG],
        summary="List values (project extension)",
        description=openapi.GET_DESCRIPTION,
        parameters=openapi.PATH,
        responses=openapi.GET_RESPONSES,
    )
    def list(self, request, **path):
        point = self.point()
        params = self.query()
        # The time bounds are always set, within the store's range: a sample outside it (stored
        # before writes were held to it) has no RFC 3339 timestamp to show and is left out.
        start, end = params[parsing.FILTER_GTE], params[parsing.FILTER_LT]
        limit = params[parsing.PAGE_LIMIT]
        rows = []
        if point.series_id is not None:
            # One row past the page tells whether a next page exists, without an empty last page.
            rows = query.samples_after(
                series_id=point.series_id,
                start_ms=MIN_TS_MS if start is None else max(start, MIN_TS_MS),
                end_ms=MAX_TS_MS + 1 if end is None else min(end, MAX_TS_MS + 1),
                after_ts=params[parsing.PAGE_CURSOR],
                limit=limit + 1,
            )
        page = rows[:limit]
        next_link = self.next_link(page[-1].ts) if len(rows) > limit else None
        return Response(render.page(page, next_link))

    def next_link(self, last_ts: int) -> str:
        """This request's URL with the cursor after `last_ts`, every other parameter kept."""
        params = self.request.query_params.copy()
        params[parsing.PAGE_CURSOR] = parsing.cursor_for(last_ts)
        return self.request.build_absolute_uri(
            f"{self.request.path}?{urlencode(list(params.lists()), doseq=True)}"
        )


class UnknownPathViewSet(common.UnknownPathViewSet):
    """Any other path under /ingest/: 404 in the JSON:API shape, for every method."""

    renderer_classes: ClassVar = [JSONAPIRenderer]
    content_negotiation_class = FirstRendererNegotiation
    exception_handler = staticmethod(exception_handler)
