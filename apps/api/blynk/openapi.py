"""The Blynk dialect in the OpenAPI schema: the two security schemes (HTTP Basic for the token
endpoint's client, Bearer for the rest), request and response shapes, parameters. Only
documentation: these serializers never validate or render a request (the views parse with
parsing.py and filters.py, and render with render.py)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.api.common.schema import bearer_jwt, security_scheme

from .widget_properties import PROPERTY_VALUE_MAX_LENGTH, WIDGET_PROPERTIES

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

# Operation descriptions, for API users (API.md §2).
GRANT_DESCRIPTION = (
    "Issues an access token (a JWT, valid 24 hours by default) and a single-use refresh token to a client "
    "authenticated by HTTP Basic or by `client_id` and `client_secret`. `client_credentials` gives "
    "an organization-level token; `user_credentials` (or `password`) with `username` and `password` "
    "of a member of the client's organization gives a token limited by that user's permissions; "
    "`refresh_token` gives a new pair, and each refresh token works once."
)
VALUES_DESCRIPTION = (
    "The current value of each datastream of a device (optionally only the `dataStreamIds` given). "
    "A datastream never set has no `value` and no `updatedAt`."
)
BATCH_VALUES_DESCRIPTION = (
    "The current datastream values of up to 10 devices, in the order of `deviceIds`. Devices that "
    "do not exist or that the token may not view are left out, without an error."
)
HISTORY_DESCRIPTION = (
    "The stored values of a numeric datastream between `from` and `to` (epoch milliseconds, both "
    "inclusive), oldest first, in 0-based pages of `size` values, with the total count. String and "
    "location datastreams keep no history (400)."
)
VALUE_DESCRIPTION = (
    "Sets the current value of one datastream. The value must fit the datastream's type (a string, "
    "a number, or `[lon, lat]`); a numeric value is also recorded in history at server time. "
    "Needs ORG_DEVICES_CONTROL."
)
VALUES_UPDATE_DESCRIPTION = (
    "Sets the current values of several datastreams of one device, keyed by datastream id. Unknown "
    "ids and values of the wrong type are skipped silently. Needs ORG_DEVICES_CONTROL."
)
BATCH_UPDATE_DESCRIPTION = (
    "Sets datastream values (by label) for many devices of one product, one row per device, at most "
    "10,000 rows. 204 when every row applied; 200 with counters of skipped rows (or, with "
    "`debug`, the reasons) when some were skipped. Needs ORG_DEVICES_CONTROL."
)
IMPORT_DESCRIPTION = (
    "Imports up to 10,000 timestamped values into the history of a numeric datastream; a value at "
    "an already stored time replaces it. A timestamp more than a month in the past is refused (400, "
    "nothing stored); one more than a month in the future is skipped. A daily number of points per "
    "device is accepted (429 beyond it). Needs ORG_DEVICE_DATA_IMPORT."
)
PROPERTY_DESCRIPTION = (
    "Sets a widget property of a datastream: `label`, `color` (`#RRGGBB`), `min`, `max`, `step` "
    "(numbers) or `units`, as a string of at most 200 characters. Needs ORG_DEVICES_CONTROL."
)
