"""Reading Building X requests: PointValue documents, RFC 3339 timestamps, numeric strings, the
query parameters and the paging cursor.

Errors are MemberInvalid with a JSON pointer into the request document or the name of the query
parameter. A document is checked completely before anything is stored, and every problem in it is
reported at once (up to MAX_ERRORS), so a client fixes a batch in one round trip.

A body holds at most 100 values, so the checks are plain Python: a few microseconds a value,
well below the cost of the request itself. Timestamps are converted to epoch milliseconds in
integer arithmetic (no float rounding), numbers by `float()` after a strict grammar check,
because `float()` alone would take "nan", "inf", "1_000" and surrounding blanks.
"""

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import UnsupportedMediaType

from apps.api.common.errors import OAuthError
from apps.timeseries.models import MAX_TS_MS, MIN_TS_MS, TS_RANGE_TEXT

from .errors import DocumentRejected, MemberInvalid
from .jsonapi import MEDIA_TYPE

MEDIA_TYPES = (MEDIA_TYPE, "application/json")
RESOURCE_TYPE = "PointValue"
BODY_LIMIT = 1_048_576  # API.md §0: Building X values 1 MiB
MAX_VALUES = 100
MAX_ERRORS = 100
QUALITY_MIN, QUALITY_MAX = -(2**15), 2**15 - 1  # the store keeps a 16-bit signed integer
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1_000
FILTER_GTE = "filter[timestamp][gte]"
FILTER_LT = "filter[timestamp][lt]"
PAGE_LIMIT = "page[limit]"
PAGE_CURSOR = "page[cursor]"
OVERWRITE = "overwrite"
# JSON:API says a server must refuse (400) `include` and `sort` it does not support, and the
# `filter[...]` / `page[...]` families are ours to define: an unknown member of them would
# otherwise be ignored silently and answer more than the client asked for.
REFUSED_PARAMETERS = re.compile(r"(?:filter|page)\[.*|include|sort")

# RFC 3339 date-time (section 5.6), with the offset optional (the vendor's own prose example has
# none; API.md §3 reads it as UTC) and a space allowed for the "T" (RFC 3339's note to 5.6).
# re.ASCII: `\d` must not match other scripts' digits.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A decimal number as a string: optional sign, digits with an optional fraction, an optional
# exponent. No blanks, underscores, hex, "nan" or "inf".
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_CURSOR_PREFIX = "ts:"
_MISSING = object()


@dataclass(frozen=True)
class PointValues:
    """A validated document: parallel lists, one entry per item of `data`, in request order."""

    ts: list[int]
    values: list[float]
    qualities: list[int | None]

    def __len__(self) -> int:
        return len(self.ts)


def timestamp_ms(raw: str) -> int | None:
    """Epoch milliseconds of an RFC 3339 date-time, or None when it is not one. No offset means
    UTC; digits past the millisecond are cut (the instant stays in the millisecond it falls in).
    Leap seconds (:60) are refused: they have no epoch millisecond of their own."""
    match = _TIMESTAMP.fullmatch(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _zulu, sign, offset_h, offset_m = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    hour, minute, second = int(hour), int(minute), int(second)
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if sign is not None:
        offset_h, offset_m = int(offset_h), int(offset_m)
        if offset_h > 23 or offset_m > 59:
            return None
        offset = (offset_h * 3600 + offset_m * 60) * (1 if sign == "+" else -1)
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
    millis = int((fraction or "")[:3].ljust(3, "0"))
    return seconds * 1000 + millis


def number(raw: Any) -> float | None:
    """A finite float from a string holding a decimal number or from a JSON number; None for
    anything else (booleans, null, NaN, infinities, numbers beyond the double range)."""
    kind = type(raw)
    if kind is str:
        if not _DECIMAL.fullmatch(raw):
            return None
        value = float(raw)
    elif kind is int or kind is float:
        try:
            value = float(raw)
        except OverflowError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def read_document(request) -> Any:
    """The request body, parsed. 415 unless it is declared JSON:API or JSON (a body sent without
    `Content-Type` included: a client that forgot the header should learn it)."""
    media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(media_type or "(none)")
    return request.data


def point_values(document: Any) -> PointValues:
    """Validate a `{"data": [PointValue, ...]}` document with 1 to 100 items.

    Raises DocumentRejected listing every problem found. Members other than `type` and
    `attributes` (an `id`, `meta`, ...) and unknown attributes are ignored.
    """
    if type(document) is not dict:
        _reject("invalid-member", "The request document must be a JSON object.", "")
    data = document.get("data", _MISSING)
    if data is _MISSING:
        _reject("missing-member", "The document has no 'data' member.", "/data")
    if type(data) is not list:
        _reject("invalid-member", f"'data' must be an array of {RESOURCE_TYPE} resources.", "/data")
    if not 1 <= len(data) <= MAX_VALUES:
        _reject("invalid-count", f"'data' must hold 1 to {MAX_VALUES} values; it holds {len(data)}.", "/data")
    errors: list[MemberInvalid] = []
    ts: list[int] = []
    values: list[float] = []
    qualities: list[int | None] = []
    for index, item in enumerate(data):
        if len(errors) >= MAX_ERRORS:
            break
        parsed = _point_value(item, f"/data/{index}", errors)
        if parsed is not None:
            ts.append(parsed[0])
            values.append(parsed[1])
            qualities.append(parsed[2])
    if errors:
        raise DocumentRejected(errors[:MAX_ERRORS])
    return PointValues(ts, values, qualities)


def _point_value(item: Any, pointer: str, errors: list) -> tuple[int, float, int | None] | None:
    def error(code: str, message: str, at: str) -> None:
        errors.append(MemberInvalid(code, message, pointer=at))

    if type(item) is not dict:
        error("invalid-member", f"Each item of 'data' must be a {RESOURCE_TYPE} resource object.", pointer)
        return None
    kind = item.get("type", _MISSING)
    if kind is _MISSING:
        error(
            "missing-member", f"The resource has no 'type'; it must be '{RESOURCE_TYPE}'.", f"{pointer}/type"
        )
    elif kind != RESOURCE_TYPE:
        error("invalid-resource-type", f"'type' must be '{RESOURCE_TYPE}'.", f"{pointer}/type")
    attributes = item.get("attributes", _MISSING)
    pointer = f"{pointer}/attributes"
    if attributes is _MISSING:
        error("missing-member", "The resource has no 'attributes'.", pointer)
        return None
    if type(attributes) is not dict:
        error("invalid-member", "'attributes' must be an object.", pointer)
        return None
    before = len(errors)

    raw_ts = attributes.get("timestamp", _MISSING)
    ts = None
    if raw_ts is _MISSING:
        error("missing-member", "'timestamp' is required.", f"{pointer}/timestamp")
    else:
        ts = timestamp_ms(raw_ts) if type(raw_ts) is str else None
        if ts is None:
            error(
                "invalid-timestamp",
                "'timestamp' must be an RFC 3339 date-time, e.g. 2022-07-11T11:11:30.333Z.",
                f"{pointer}/timestamp",
            )
        elif not MIN_TS_MS <= ts <= MAX_TS_MS:
            # Years 0001 and 9999 with an offset reach past the range: the instant counts.
            error(
                "invalid-timestamp", f"'timestamp' must lie within {TS_RANGE_TEXT}.", f"{pointer}/timestamp"
            )
            ts = None

    raw_value = attributes.get("value", _MISSING)
    value = None
    if raw_value is _MISSING:
        error("missing-member", "'value' is required.", f"{pointer}/value")
    else:
        value = number(raw_value)
        if value is None:
            error(
                "invalid-value",
                "'value' must be a finite number or a string holding one.",
                f"{pointer}/value",
            )

    quality = attributes.get("qualityOfValue")
    if quality is not None and (type(quality) is not int or not QUALITY_MIN <= quality <= QUALITY_MAX):
        error(
            "invalid-quality",
            f"'qualityOfValue' must be an integer from {QUALITY_MIN} to {QUALITY_MAX}.",
            f"{pointer}/qualityOfValue",
        )
    if len(errors) > before or ts is None or value is None:
        return None
    return ts, value, quality


def _reject(code: str, message: str, pointer: str):
    raise DocumentRejected([MemberInvalid(code, message, pointer=pointer)])


def overwrite_param(params: QueryDict) -> bool:
    """`overwrite=true` or `overwrite=false` (the default); anything else is 400, so that a
    misspelt `overwrite=yes` cannot silently keep stored values."""
    raw = params.getlist(OVERWRITE)
    if not raw:
        return False
    if len(set(raw)) != 1 or raw[0] not in ("true", "false"):
        raise MemberInvalid("invalid-parameter", "'overwrite' must be true or false.", parameter=OVERWRITE)
    return raw[0] == "true"


def cursor_for(ts: int) -> str:
    """The opaque `page[cursor]` of the page after the sample at `ts`."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{ts}".encode()).decode().rstrip("=")


def cursor_ts(cursor: str) -> int:
    """The `ts` a cursor of `cursor_for` holds; 400 for anything this API did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    digits = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not re.fullmatch(r"-?\d{1,18}", digits, re.ASCII):
        raise MemberInvalid(
            "invalid-parameter", "'page[cursor]' is not a cursor this API issued.", parameter=PAGE_CURSOR
        )
    return int(digits)


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str


TOKEN_FIELDS = ("client_id", "client_secret", "audience", "grant_type")
GRANT_TYPE = "client_credentials"


def token_request(data: Any, *, audience: str, client: tuple[str, str] | None = None) -> TokenRequest:
    """A client-credentials request: the four fields as strings, `grant_type`
    client_credentials and `audience` the configured one. Raises OAuthError invalid_request
    (400) naming the first field at fault. `client` is the (client_id, client_secret) of an HTTP
    Basic header: given, it wins and the body's client fields are not read."""
    if isinstance(data, QueryDict):
        data = data.dict()
    if type(data) is not dict:
        raise OAuthError("invalid_request", "The request body must be a JSON object.")
    for name in TOKEN_FIELDS[2:] if client else TOKEN_FIELDS:
        value = data.get(name)
        if value is None or value == "":
            raise OAuthError("invalid_request", f"Missing required parameter: {name}")
        if type(value) is not str:
            raise OAuthError("invalid_request", f"The {name} parameter must be a string.")
    if data["grant_type"] != GRANT_TYPE:
        raise OAuthError("invalid_request", f"Unsupported grant_type: only '{GRANT_TYPE}' is accepted.")
    if data["audience"] != audience:
        raise OAuthError("invalid_request", f"Unknown audience: the audience must be '{audience}'.")
    if client:
        return TokenRequest(client_id=client[0], client_secret=client[1])
    return TokenRequest(client_id=data["client_id"], client_secret=data["client_secret"])
