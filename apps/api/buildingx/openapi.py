"""The Building X dialect in the OpenAPI schema: request and response shapes, parameters and the
Bearer scheme. Only documentation: these serializers never validate or render a request (the
views parse with parsing.py and render with render.py).
Component names carry the dialect's name so they cannot collide with another dialect's."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from apps.api.common.schema import bearer_jwt, security_scheme

from .parsing import (
    BODY_LIMIT,
    MAX_VALUES,
    QUALITY_MAX,
    QUALITY_MIN,
    RESOURCE_TYPE,
)

BearerScheme = security_scheme(
    target="apps.api.buildingx.authentication.BuildingXAuthentication",
    name="buildingxBearer",
    definition=bearer_jwt("Token from POST /oauth/token (client credentials of a machine user)."),
)


class BuildingXTokenRequestSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField()
    audience = serializers.CharField(
        help_text="Must be the configured audience, by default https://horizon.siemens.com."
    )
    grant_type = serializers.ChoiceField(choices=["client_credentials"])


class BuildingXTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="A JWT.")
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds the token is valid (86400 by default).")


class BuildingXOAuthErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(
        choices=["access_denied", "invalid_request", "too_many_requests", "temporarily_unavailable"]
    )
    error_description = serializers.CharField()


class BuildingXPointValueAttributesSerializer(serializers.Serializer):
    timestamp = serializers.CharField(
        help_text="RFC 3339 date-time; without an offset it is read as UTC. Kept to the millisecond "
        "(further digits are cut); the instant must lie within 0001-01-01T00:00:00Z to "
        "9999-12-31T23:59:59.999Z. Responses give UTC with three fraction digits."
    )
    value = serializers.CharField(
        help_text='A number as a string, e.g. "12.66" (a JSON number is accepted too). No NaN or infinities.'
    )
    qualityOfValue = serializers.IntegerField(
        required=False,
        min_value=QUALITY_MIN,
        max_value=QUALITY_MAX,
        help_text="Optional quality, stored with the value (absent from responses when unknown).",
    )


class BuildingXPointValueSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[RESOURCE_TYPE])
    attributes = BuildingXPointValueAttributesSerializer()


class BuildingXPointValueResourceSerializer(BuildingXPointValueSerializer):
    """A PointValue as the server returns it (requests need no `id`; one given is ignored)."""

    id = serializers.CharField(
        help_text="The value's timestamp in UTC to the millisecond, unique within the point, "
        "e.g. 2022-07-11T11:11:30.333Z."
    )


class BuildingXPointValuesSerializer(serializers.Serializer):
    data = BuildingXPointValueSerializer(many=True, min_length=1, max_length=MAX_VALUES)


class BuildingXDroppedSerializer(serializers.Serializer):
    droppedIndices = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="0-based positions in the request's data that were not stored.",
    )


class BuildingXAcceptedSerializer(serializers.Serializer):
    data = BuildingXPointValueResourceSerializer(many=True, help_text="The values stored, in request order.")
    meta = BuildingXDroppedSerializer()


class BuildingXLinksSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last page.")


class BuildingXPointValuePageSerializer(serializers.Serializer):
    data = BuildingXPointValueResourceSerializer(many=True, help_text="Oldest first.")
    links = BuildingXLinksSerializer()


class BuildingXErrorSourceSerializer(serializers.Serializer):
    pointer = serializers.CharField(
        required=False, help_text="JSON pointer to the offending member, e.g. /data/3/attributes/timestamp."
    )
    parameter = serializers.CharField(required=False, help_text="The offending query parameter.")


class BuildingXErrorSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='The HTTP status as a string, e.g. "400".')
    code = serializers.CharField(help_text="e.g. invalid-timestamp, not-found, forbidden.")
    title = serializers.CharField()
    detail = serializers.CharField()
    source = BuildingXErrorSourceSerializer(required=False)


class BuildingXErrorDocumentSerializer(serializers.Serializer):
    errors = BuildingXErrorSerializer(many=True)


def _errors(*statuses: int) -> dict:
    return {status: BuildingXErrorDocumentSerializer for status in statuses}


TOKEN_RESPONSES = {
    200: BuildingXTokenSerializer,
    400: OpenApiResponse(BuildingXOAuthErrorSerializer, description="invalid_request"),
    401: OpenApiResponse(BuildingXOAuthErrorSerializer, description='access_denied, "Unauthorized"'),
    413: BuildingXOAuthErrorSerializer,
    415: BuildingXOAuthErrorSerializer,
    503: BuildingXOAuthErrorSerializer,
}
POST_RESPONSES = {
    202: OpenApiResponse(BuildingXAcceptedSerializer, description="Some values were dropped (keep policy)."),
    204: OpenApiResponse(description="Every value was stored."),
    **_errors(400, 401, 403, 404, 413, 415, 429, 503),
}
GET_RESPONSES = {200: BuildingXPointValuePageSerializer, **_errors(400, 401, 403, 404, 429, 503)}

PATH = [
    OpenApiParameter("partitionId", OpenApiTypes.UUID, OpenApiParameter.PATH),
    OpenApiParameter("pointId", OpenApiTypes.UUID, OpenApiParameter.PATH),
]
OVERWRITE = OpenApiParameter(
    "overwrite",
    str,
    enum=["true", "false"],
    description="true: replace stored values (and quality) at the same millisecond. Default false.",
)
TOKEN_DESCRIPTION = (
    "Client credentials of a machine user (an OAuth client of the Building X dialect, managed in the "
    f"admin) give a JWT valid {settings.BUILDINGX_TOKEN_LIFETIME_SECONDS} s; no refresh token. JSON "
    "body (a form-encoded body is accepted too), at most 16 KiB. The client credentials go in the body "
    "or in an `Authorization: Basic` header (RFC 6749 §2.3.1), which wins when both are given."
)
POST_DESCRIPTION = (
    f"Adds 1 to {MAX_VALUES} values to a point, at most {BODY_LIMIT:,} bytes. Only one value per "
    "millisecond is stored: without `overwrite=true` a value whose millisecond is already stored, or "
    "appears earlier in the same request, is dropped and its index reported (202); with "
    "`overwrite=true` stored values are replaced and the last occurrence in the request wins (204). "
    "A bad document is refused as a whole (400 listing every problem, with a JSON pointer each) and "
    "nothing is stored."
)
GET_DESCRIPTION = (
    "Project extension: a point's stored values, oldest first, filtered by timestamp and paged by "
    "an opaque cursor (`links.next`)."
)

VENDOR_EXAMPLE = OpenApiExample(
    "The vendor's example",
    value={
        "data": [
            {
                "type": RESOURCE_TYPE,
                "attributes": {"timestamp": "2000-05-11T10:32:54.964Z", "value": "12.66"},
            }
        ]
    },
    request_only=True,
)
