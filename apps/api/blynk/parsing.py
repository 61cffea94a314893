"""Reading the Blynk dialect's requests: JSON bodies (orjson) and body fields (the query
parameters are declared in filters.py).
Every error is an Invalid whose message names the field in the dialect's own words
(`deviceId`, `values[3].ts`)."""

from dataclasses import dataclass
from typing import Any

from rest_framework.exceptions import UnsupportedMediaType

from apps.api.common.parsers import ORJSONParser
from apps.core.exceptions import Invalid

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BlynkJSONParser(ORJSONParser):
    """The common orjson parser (a 4 MiB import parses in a few milliseconds), with the message
    the dialect has always given a malformed body."""

    malformed = "Malformed JSON: {error}"


def body_object(request) -> dict:
    """The request's JSON object. A body without a Content-Type is refused (415) rather than
    ignored, so a client that forgot the header learns it."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not request.content_type and length not in ("", "0"):
        raise UnsupportedMediaType("")
    data = request.data
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.", field="body")
    return data


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def body_id(data: dict, name: str) -> int:
    """A required identifier (`deviceId`, `dataStreamId`): a JSON integer from 0 to 2^31 - 1."""
    if name not in data or data[name] is None:
        raise Invalid(f"'{name}' is required.", field=name)
    value = data[name]
    if not is_integer(value) or not 0 <= value <= INT32_MAX:
        raise Invalid(f"'{name}' must be an integer from 0 to {INT32_MAX}.", field=name)
    return value


def body_field(data: dict, name: str, kind: type, what: str, *, required: bool = True) -> Any:
    """A field of the JSON types `kind` (`what` names them in the message); None when optional
    and absent."""
    if name not in data:
        if required:
            raise Invalid(f"'{name}' is required.", field=name)
        return None
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Invalid(f"'{name}' must be {what}.", field=name)
    return value


def import_points(items: list) -> tuple[list[int], list[float]]:
    """The (ts, value) pairs of a history import, checked in one pass of plain Python (a DRF
    field per element would cost a hundred times more for 10,000 points).

    `ts` is epoch milliseconds as a JSON integer or a string of digits (the vendor types it as
    a string); `value` a JSON number (not a boolean, not a numeric string). Timestamps beyond the
    64-bit range are clamped to it, which keeps the arrays 64-bit: they lie outside the store's
    range either way, which the import refuses.
    """
    stamps: list[int] = []
    values: list[float] = []
    append_ts, append_value = stamps.append, values.append
    for index, item in enumerate(items):
        if type(item) is not dict:
            raise Invalid(
                f"'values[{index}]' must be an object with 'value' and 'ts'.", field="values", index=index
            )
        ts = item.get("ts")
        if type(ts) is not int:
            if type(ts) is str and ts.isascii() and ts.isdigit():
                # Past 19 digits it is beyond any 64-bit time (and int() of a huge string is slow).
                ts = int(ts) if len(ts) <= 19 else INT64_MAX
            elif ts is None:
                raise Invalid(f"'values[{index}].ts' is required.", field="ts", index=index)
            else:
                raise Invalid(
                    f"'values[{index}].ts' must be epoch milliseconds: an integer or a string of digits.",
                    field="ts",
                    index=index,
                )
        if not INT64_MIN <= ts <= INT64_MAX:
            ts = INT64_MAX if ts > 0 else INT64_MIN
        value = item.get("value")
        kind = type(value)
        if kind is not float and kind is not int:
            if value is None and "value" not in item:
                raise Invalid(f"'values[{index}].value' is required.", field="value", index=index)
            raise Invalid(f"'values[{index}].value' must be a number.", field="value", index=index)
        append_ts(ts)
        append_value(value)
    return stamps, values


# --- product batch update ------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchUpdate:
    """A product batch update's body: the labels after `deviceId` in `fields`, the rows as sent
    (batch_rows.py sorts out the bad ones), and whether skipped rows are reported one by one."""

    labels: list[str]
    rows: list
    debug: bool


def batch_update_body(data: dict, *, max_rows: int) -> BatchUpdate:
    """Check a batch update's envelope: `fields` is "deviceId" followed by distinct, non-empty
    labels; `updates` a list of at most `max_rows` rows; `debug` a boolean (default false)."""
    fields = body_field(data, "fields", list, "a list of strings")
    if len(fields) < 2 or fields[0] != "deviceId":
        raise Invalid(
            "'fields' must start with \"deviceId\", followed by at least one label.", field="fields"
        )
    labels = fields[1:]
    seen: set[str] = set()  # a set, not a look back over the list: 40,000 labels took 18 s
    for index, label in enumerate(labels, start=1):
        if not isinstance(label, str) or not label:
            raise Invalid(f"'fields[{index}]' must be a datastream label.", field="fields", index=index)
        if label in seen:
            raise Invalid(f"'fields[{index}]' repeats the label {label!r}.", field="fields", index=index)
        seen.add(label)
    rows = body_field(data, "updates", list, "a list of rows")
    if len(rows) > max_rows:
        raise Invalid(f"'updates' may hold at most {max_rows} rows.", field="updates")
    _check_cell_depth(rows)
    debug = body_field(data, "debug", bool, "true or false", required=False) or False
    return BatchUpdate(labels=labels, rows=rows, debug=debug)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _check_cell_depth(rows: list) -> None:
    """Refuse a cell holding an array or object inside an array or object: no datastream value
    is deeper than a location's [longitude, latitude], and a deeper one (JSON allows ~1,000
    levels) breaks whatever walks it, such as the debug report showing a bad deviceId. Rows of
    scalars only, nearly all of them, cost one pass of C over their cells' types."""
    for row_index, row in enumerate(rows):
        if type(row) is not list or _SCALARS.issuperset(map(type, row)):
            continue
        for column, cell in enumerate(row):
            items = cell if type(cell) is list else cell.values() if type(cell) is dict else ()
            if not _SCALARS.issuperset(map(type, items)):
                raise Invalid(
                    f"'updates[{row_index}][{column}]' is nested too deeply: a cell holds a number, a "
                    "string, null or [longitude, latitude].",
                    field="updates",
                    index=row_index,
                )
