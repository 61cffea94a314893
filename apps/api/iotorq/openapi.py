"""The ioTORQ dialect in the OpenAPI schema: request and response shapes and the Token scheme.
Only documentation: these serializers never validate or render a request (the views parse with
parsing.py and render with render.py)."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from apps.api.common.schema import security_scheme

from .parsing import BODY_LIMIT

TokenScheme = security_scheme(
    target="apps.api.iotorq.authentication.TokenAuthentication",
    name="iotorqToken",
    definition={
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "`Token <key>`: an API key of one user of one organization, issued in the admin "
            "(API tokens) or with `manage.py issue_token --user USERNAME`. Imported data is "
            "attributed to that user."
        ),
    },
)


class SeriesSerializer(serializers.Serializer):
    datetime = serializers.ListField(
        child=serializers.FloatField(),
        help_text="UNIX timestamps, in seconds (fractions allowed, kept to the millisecond) or in "
        'milliseconds with `time_unit` "ms".',
    )
    val = serializers.ListField(
        child=serializers.FloatField(), help_text="Numbers, one per timestamp. No booleans, strings or NaN."
    )
    time_unit = serializers.ChoiceField(choices=["s", "ms"], required=False, help_text='Default "s".')


class ImportItemSerializer(serializers.Serializer):
    id_type = serializers.ChoiceField(choices=["meter_code", "pk"])
    id_value = serializers.CharField(
        help_text='The variable\'s meter code (id_type "meter_code") or its id (id_type "pk", an integer).'
    )
    series = SeriesSerializer()
    time_unit = serializers.ChoiceField(
        choices=["s", "ms"], required=False, help_text="Also accepted here, beside `series`."
    )


class AcceptedSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    variables = serializers.IntegerField(help_text="Distinct variables the import writes to.")
    points = serializers.IntegerField(help_text="Points accepted.")


class JobSerializer(AcceptedSerializer):
    written = serializers.IntegerField(help_text="Points written so far (equals `points` when done).")
    error = serializers.CharField(allow_null=True, help_text="Why the job failed; null otherwise.")
    created = serializers.DateTimeField()
    finished = serializers.DateTimeField(allow_null=True)


class ErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="Position of the item; null for the body.")
    field = serializers.CharField(allow_null=True, help_text='e.g. "series.val"; null for the whole item.')
    message = serializers.CharField()


class InvalidSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text='"Invalid import."')
    errors = ErrorItemSerializer(many=True)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


IMPORT_ERRORS = {
    400: InvalidSerializer,
    401: DetailSerializer,
    413: DetailSerializer,
    415: DetailSerializer,
    429: DetailSerializer,
    503: DetailSerializer,
}
JOB_ERRORS = {401: DetailSerializer, 404: DetailSerializer, 429: DetailSerializer, 503: DetailSerializer}

IMPORT_DESCRIPTION = (
    f"Adds data points to existing variables. At most {BODY_LIMIT:,} bytes (larger: 413, refused "
    "before parsing). Validation is all or nothing: any error gives 400 listing the errors and "
    "stores nothing. Accepted imports are stored durably before the 202 and written by a background "
    "job with the overwrite policy (within one request, the last occurrence of a timestamp wins); "
    "follow `Location` for its status."
)

VENDOR_EXAMPLE = OpenApiExample(
    "Two variables by meter code",
    value=[
        {
            "id_type": "meter_code",
            "id_value": "my_meter_code1",
            "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [1, 2, 3]},
        },
        {
            "id_type": "meter_code",
            "id_value": "my_meter_code2",
            "series": {"datetime": [1494880000, 1494880060, 1494880120], "val": [2.0, 5.5, 4.1]},
        },
    ],
    request_only=True,
)
JOB_DESCRIPTION = (
    "Project extension: the status of an import accepted by `POST /ems/api/import/` (`queued`, "
    "`running`, `done` or `failed`), with the numbers of variables and points it carried, the points "
    "written, the error if it failed, and when it was created and finished. Jobs of other "
    "organizations are not found (404)."
)
