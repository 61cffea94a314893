"""The Blynk dialect in the OpenAPI schema: the two security schemes (HTTP Basic for the token
endpoint's client, Bearer for the rest), request and response shapes, parameters. Only
documentation; the views parse with parsing.py and render with render.py."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.api.common.schema import bearer_jwt, security_scheme
from apps.inventory.services import PROPERTY_VALUE_MAX_LENGTH, WIDGET_PROPERTIES

BearerScheme = security_scheme(
    target="apps.api.blynk.authentication.BlynkAuthentication",
    name="blynkBearer",
    definition=bearer_jwt("access_token from POST /oauth2/token (valid 86,400 s by default)."),
)

BasicScheme = security_scheme(
    target="apps.api.blynk.authentication.BlynkClientAuthentication",
    name="blynkBasic",
    definition={
        "type": "http",
        "scheme": "basic",
        "description": "OAuth client id and secret (`-u client_id:client_secret`); the client_id and "
        "client_secret query parameters are accepted instead.",
    },
)


class BlynkErrorMessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class BlynkErrorSerializer(serializers.Serializer):
    error = BlynkErrorMessageSerializer()


class BlynkOAuthErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(
        choices=[
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "slow_down",
            "temporarily_unavailable",
        ]
    )
    error_description = serializers.CharField()


class BlynkTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh_token = serializers.CharField(help_text="Works once.")


class BlynkDataStreamValueSerializer(serializers.Serializer):
    dataStreamId = serializers.IntegerField()
    pin = serializers.CharField(help_text="e.g. v10")
    dataStreamLabel = serializers.CharField()
    dataStreamAlias = serializers.CharField()
    value = serializers.JSONField(
        required=False, help_text="String, number, or [longitude, latitude]; absent when never set."
    )
    updatedAt = serializers.IntegerField(required=False, help_text="Epoch ms; absent when never set.")


class BlynkDeviceDataStreamsSerializer(serializers.Serializer):
    deviceId = serializers.IntegerField()
    dataStreams = BlynkDataStreamValueSerializer(many=True)


class BlynkHistoryItemSerializer(serializers.Serializer):
    createdAt = serializers.IntegerField(help_text="Epoch ms.")
    value = serializers.FloatField()


class BlynkHistorySerializer(serializers.Serializer):
    totalElements = serializers.IntegerField()
    content = BlynkHistoryItemSerializer(many=True, help_text="Oldest first.")


class BlynkValueUpdateSerializer(serializers.Serializer):
    deviceId = serializers.IntegerField()
    dataStreamId = serializers.IntegerField()
    value = serializers.JSONField(
        help_text="Must fit the datastream: string, number or [longitude, latitude]."
    )


class BlynkValuesUpdateSerializer(serializers.Serializer):
    deviceId = serializers.IntegerField()
    values = serializers.DictField(
        child=serializers.JSONField(),
        help_text='{"<dataStreamId>": value}; unknown ids and values of the wrong type are skipped silently.',
    )


class BlynkBatchUpdateSerializer(serializers.Serializer):
    fields = serializers.ListField(
        child=serializers.CharField(), min_length=2, help_text='["deviceId", "<label>", ...]'
    )
    updates = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        max_length=10_000,
        help_text="Rows matching fields; null in a cell skips that datastream. A cell holds a number, a "
        "string, null or [longitude, latitude]; one nested deeper is 400.",
    )
    debug = serializers.BooleanField(default=False)


class BlynkBatchUpdateResultSerializer(serializers.Serializer):
    invalidRowSize = serializers.IntegerField(required=False)
    nullDeviceId = serializers.IntegerField(required=False)
    nonNumericDeviceId = serializers.IntegerField(required=False)
    deviceNotFound = serializers.IntegerField(required=False)
    noAccessToDevice = serializers.IntegerField(required=False)
    wrongProduct = serializers.IntegerField(required=False)
    skippedRows = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Debug mode: at most 100 reasons."
    )


class BlynkImportValueSerializer(serializers.Serializer):
    value = serializers.FloatField()
    ts = serializers.CharField(
        help_text="Epoch ms: a JSON integer or a string of digits, within 0001-01-01T00:00:00Z to "
        "9999-12-31T23:59:59.999Z."
    )


class BlynkImportSerializer(serializers.Serializer):
    deviceId = serializers.IntegerField()
    dataStreamId = serializers.IntegerField()
    values = BlynkImportValueSerializer(many=True, help_text="1 to 10,000 values.")


class BlynkPropertySerializer(serializers.Serializer):
    deviceId = serializers.IntegerField()
    dataStreamId = serializers.IntegerField()
    property = serializers.ChoiceField(choices=list(WIDGET_PROPERTIES))
    value = serializers.CharField(max_length=PROPERTY_VALUE_MAX_LENGTH)


ERRORS = {status: BlynkErrorSerializer for status in (400, 401, 403, 404, 413, 415, 429, 503)}

DEVICE_ID = OpenApiParameter("deviceId", int, required=True)
DEVICE_IDS = OpenApiParameter(
    "deviceIds", str, required=True, description="At most 10 device ids: 1,2 or repeated."
)
DATASTREAM_IDS = OpenApiParameter(
    "dataStreamIds", str, description="Datastream ids to keep: 1,2 or repeated."
)
HISTORY_PARAMETERS = [
    DEVICE_ID,
    OpenApiParameter("dataStreamId", int, description="The datastream (or give pin)."),
    OpenApiParameter("pin", str, description="The datastream's pin, e.g. v1 (when no dataStreamId)."),
    OpenApiParameter("from", OpenApiTypes.INT64, required=True, description="Epoch ms, inclusive."),
    OpenApiParameter("to", OpenApiTypes.INT64, required=True, description="Epoch ms, inclusive."),
    OpenApiParameter("page", int, description="0-based, default 0."),
    OpenApiParameter("size", int, description="1..1000, default 50."),
]
TOKEN_PARAMETERS = [
    OpenApiParameter(
        "grant_type",
        str,
        required=True,
        enum=["client_credentials", "refresh_token", "user_credentials", "password"],
    ),
    OpenApiParameter("refresh_token", str, description="For grant_type=refresh_token."),
    OpenApiParameter("username", str, description="E-mail (or user name), for user_credentials."),
    OpenApiParameter("password", str, description="For user_credentials."),
    OpenApiParameter("client_id", str, description="Instead of HTTP Basic."),
    OpenApiParameter("client_secret", str, description="Instead of HTTP Basic."),
]
