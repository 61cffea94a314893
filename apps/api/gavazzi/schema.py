"""The EMS gateway dialect in the OpenAPI schema: request and response shapes, parameters and the
Bearer scheme. Only documentation; the views render with render.py."""

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.api.common.schema import bearer_jwt, security_scheme
from apps.inventory.models import Protocol

PROTOCOLS = [choice.value for choice in Protocol]


BearerScheme = security_scheme(
    target="apps.api.gavazzi.authentication.GavazziAuthentication",
    name="emsBearer",
    definition=bearer_jwt("Token from POST /v1/auth/login, valid 30 minutes."),
)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


class VersionSerializer(serializers.Serializer):
    api_ver = serializers.IntegerField()


class CredentialField(serializers.CharField):
    """A credential: a NUL in it is not refused as a malformed request (400) but left to the
    login, where it names nobody, so it is answered, and counted, as a wrong credential (401)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class LoginSerializer(serializers.Serializer):
    username = CredentialField(max_length=150)
    password = CredentialField(max_length=1024, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class SerialNumberSerializer(serializers.Serializer):
    sn = serializers.CharField()


class MacSerializer(serializers.Serializer):
    mac = serializers.CharField()


class DeviceSerializer(serializers.Serializer):
    uid = serializers.IntegerField()
    label = serializers.CharField()
    partNumber = serializers.CharField()
    system = serializers.CharField()


class LoadSerializer(serializers.Serializer):
    uid = serializers.IntegerField()
    label = serializers.CharField()
    enable = serializers.BooleanField()
    index = serializers.IntegerField()
    type = serializers.IntegerField()
    did = serializers.IntegerField()
    meterBus = serializers.DictField(
        required=False, help_text="The protocol configuration, under the device's protocol name."
    )


class SignalSerializer(serializers.Serializer):
    uid = serializers.IntegerField()
    si = serializers.IntegerField()
    sir = serializers.IntegerField()
    enable = serializers.BooleanField()
    lid = serializers.IntegerField(help_text="uid of the signal's load")
    did = serializers.IntegerField(help_text="uid of the signal's device")


class RealtimeSerializer(serializers.Serializer):
    uid = serializers.IntegerField()
    si = serializers.IntegerField()
    v = serializers.FloatField(allow_null=True, help_text="Latest value.")
    t = serializers.IntegerField(allow_null=True, help_text="Its time, epoch milliseconds.")
    r = serializers.IntegerField(help_text="Reserved, 0.")
    s = serializers.IntegerField(help_text="1 when the signal is enabled and the value fresh, else 0.")


class HistoryRecordSerializer(serializers.Serializer):
    uid = serializers.IntegerField()
    t = serializers.IntegerField(help_text="Time of the period's last sample, epoch seconds (floored).")
    p = serializers.IntegerField(help_text="End of the period, epoch seconds.")
    v = serializers.FloatField(help_text="Value of the period's last sample.")
    d = serializers.FloatField(help_text="v minus the previous record's v in the window; 0 for the first.")
    max = serializers.FloatField(help_text="Largest sample of the period.")
    min = serializers.FloatField(help_text="Smallest sample of the period.")


def _keyed(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A `{name: {"<uid>": item}}` body."""
    return type(
        f"Ems{name.title()}Response", (serializers.Serializer,), {name: serializers.DictField(child=item())}
    )


DEVICES = _keyed("devices", DeviceSerializer)
LOADS = _keyed("loads", LoadSerializer)
SIGNALS = _keyed("signals", SignalSerializer)
REALTIME = _keyed("realtime", RealtimeSerializer)


class HistoryResponseSerializer(serializers.Serializer):
    history = serializers.DictField(child=serializers.ListField(child=HistoryRecordSerializer()))


class HistoryLastResponseSerializer(serializers.Serializer):
    history = serializers.DictField(child=HistoryRecordSerializer())


HISTORY = HistoryResponseSerializer
HISTORY_LAST = HistoryLastResponseSerializer
ERRORS = {status: ErrorSerializer for status in (400, 401, 404, 429, 503)}
# The login reads a JSON body: at most 16 KiB (413), declared application/json (415).
LOGIN_ERRORS = {**ERRORS, 413: ErrorSerializer, 415: ErrorSerializer}

UIDS = OpenApiParameter("uids", str, description="Comma-separated uids, e.g. 1,2,59 (or repeated).")
PROTOCOL = OpenApiParameter("protocol", str, enum=PROTOCOLS)
LIMIT = OpenApiParameter("limit", int, description="Records per page (per signal for history), 1..10000.")
PAGE = OpenApiParameter("page", int, description="1-based page number.")
START = OpenApiParameter("start", int, description="Epoch ms, inclusive. Default: end minus 24 hours.")
END = OpenApiParameter("end", int, description="Epoch ms, exclusive. Default: now.")
