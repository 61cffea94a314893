"""The EMS gateway dialect in the OpenAPI schema: request and response shapes, parameters and the
Bearer scheme. Only documentation: these serializers never validate or render a request (the
views read query parameters with filters.py and render with render.py; the login body, the one
request a serializer validates, is serializers.py's LoginSerializer, documented as it is)."""

from rest_framework import serializers

from apps.api.common.schema import bearer_jwt, security_scheme

BearerScheme = security_scheme(
    target="apps.api.gavazzi.authentication.GavazziAuthentication",
    name="emsBearer",
    definition=bearer_jwt("Token from POST /v1/auth/login, valid 30 minutes."),
)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


class VersionSerializer(serializers.Serializer):
    api_ver = serializers.IntegerField()


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

# Operation summaries and descriptions, for API users (API.md §4). The reads served on several
# scopes take theirs per scope: keyed by the path's first parameter (None for the organization).
VERSION_DESCRIPTION = 'The version of the gateway API, `{"api_ver": 1}`. Needs no token.'
LOGIN_DESCRIPTION = (
    "Username and password of a user holding the organization's API role give a token (a JWT) valid "
    "30 minutes, without a refresh token; send it as `Authorization: Bearer <token>`. After 10 failed "
    "logins within a minute for one username and client address, that pair is answered 429 for the "
    "rest of the minute, even with the right password."
)
SN_DESCRIPTION = "The serial number of the organization's gateway."
MAC_DESCRIPTION = "The MAC address of the organization's gateway."
SIGNAL_HISTORY_DESCRIPTION = (
    "Per-period rollups of one signal (the only history endpoint answering a bare array): one record "
    "per period with samples between `start` and `end` (epoch ms), oldest first; `limit` and `page` "
    "count records."
)
_REALTIME = (
    "The latest value of each signal {scope}: `v` the value, `t` its time in epoch milliseconds, `s` "
    "1 when the signal is enabled and the value is younger than the organization's staleness limit. "
    "Filtered by `uids`; `limit` and `page` count signals."
)
_HISTORY = (
    "Per-period rollups of each signal {scope} (value, delta, maximum and minimum per period), with "
    "samples between `start` and `end` (epoch ms, by default the last 24 hours), oldest first. "
    "Filtered by `uids`; `limit` and `page` count records per signal."
)
_HISTORY_LAST = (
    "The latest history record (rollup period) of each signal {scope}. Filtered by `uids`; `limit` "
    "and `page` count signals."
)
_SCOPES = {
    None: ("", "of the organization"),
    "load_uid": (" of a load", "of the load `load_uid`"),
    "device_uid": (" of a device", "of the device `device_uid`"),
}


def _scoped(summary: str, description: str) -> dict:
    return {
        key: (summary + suffix, description.format(scope=scope)) for key, (suffix, scope) in _SCOPES.items()
    }


DEVICE_DOCS = {
    None: ("List devices", "The organization's devices keyed by uid, filtered by `uids` and `protocol`."),
    "device_uid": (
        "Get a device",
        "The device `device_uid`, keyed by its uid (empty when `uids` or `protocol` exclude it).",
    ),
}
LOAD_DOCS = {
    None: (
        "List loads",
        "The organization's loads keyed by uid, with their protocol configuration, filtered by `uids` "
        "and `protocol`.",
    ),
    "load_uid": (
        "Get a load",
        "The load `load_uid`, keyed by its uid (empty when `uids` or `protocol` exclude it).",
    ),
    "device_uid": (
        "List loads of a device",
        "The loads of the device `device_uid` keyed by uid, filtered by `uids` and `protocol`.",
    ),
}
SIGNAL_DOCS = {
    None: (
        "List signals",
        "The organization's signals keyed by uid, filtered by `uids`; `limit` and `page` count signals.",
    ),
    "signal_uid": (
        "Get a signal",
        "The signal `signal_uid`, keyed by its uid (empty when `uids` excludes it).",
    ),
    "load_uid": (
        "List signals of a load",
        "The signals of the load `load_uid` keyed by uid, filtered by `uids`; `limit` and `page` count "
        "signals.",
    ),
    "device_uid": (
        "List signals of a device",
        "The signals of the device `device_uid` keyed by uid, filtered by `uids`; `limit` and `page` count "
        "signals.",
    ),
}
REALTIME_DOCS = _scoped("Realtime values", _REALTIME)
HISTORY_DOCS = _scoped("History rollups", _HISTORY)
HISTORY_LAST_DOCS = _scoped("Latest history record per signal", _HISTORY_LAST)
