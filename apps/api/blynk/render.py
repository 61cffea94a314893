"""The Blynk dialect's wire shapes (API.md §2)."""

import reprlib
from datetime import UTC, datetime, timedelta

from apps.inventory.models import DataStream, ValueType
from apps.inventory.values import value_fits
from apps.timeseries.query import SampleRow

from .batch_rows import RowSkip, SkippedRow, skip_counts

MAX_SKIPPED_ROWS = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

COUNTERS = {
    RowSkip.INVALID_ROW_SIZE: "invalidRowSize",
    RowSkip.NULL_DEVICE_ID: "nullDeviceId",
    RowSkip.NON_NUMERIC_DEVICE_ID: "nonNumericDeviceId",
    RowSkip.DEVICE_NOT_FOUND: "deviceNotFound",
    RowSkip.NO_ACCESS_TO_DEVICE: "noAccessToDevice",
    RowSkip.WRONG_PRODUCT: "wrongProduct",
}

# A bad deviceId as the debug report shows it: at most ~40 characters and two levels deep, so a
# long string or a deep array in a request cannot make the answer long (or `repr` recurse).
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = _SHOWN.maxlong = 40
_SHOWN.maxlevel = 2

_REASONS = {
    RowSkip.INVALID_ROW_SIZE: "the row's length differs from the length of 'fields'",
    RowSkip.NULL_DEVICE_ID: "deviceId is null",
    RowSkip.NON_NUMERIC_DEVICE_ID: "deviceId {device_id} is not numeric",
    RowSkip.DEVICE_NOT_FOUND: "device {device_id} is not found or belong to another organization",
    RowSkip.NO_ACCESS_TO_DEVICE: "no access to device {device_id}",
    RowSkip.WRONG_PRODUCT: "device {device_id} belongs to another product",
}


def number(value: float, value_type: str) -> int | float:
    """Integer and enum datastreams show whole numbers without a fraction (the store keeps
    doubles); a double datastream shows doubles."""
    if value_type in (ValueType.INTEGER, ValueType.ENUM) and float(value).is_integer():
        return int(value)
    return value


def datastream_value(stream: DataStream) -> dict:
    """A DataStreamValue of a datastream from `selectors.datastream_list`. The current value is
    the newer of the datastream's own (set through this dialect, at the time it was set) and, for
    numeric datastreams, its series' current sample (the newest at or before now: a sample dated
    later becomes current when its time comes), so a value another dialect writes to the shared
    series shows here too. `value` and `updatedAt` are absent when neither was ever set."""
    body = {
        "dataStreamId": stream.stream_id,
        "pin": stream.pin,
        "dataStreamLabel": stream.label,
        "dataStreamAlias": stream.alias or stream.label,
    }
    value = stream.value
    updated_at = None
    if value is not None and not value_fits(value_type=stream.value_type, value=value):
        # Saved in the admin before it checked values (or in SQL): shown as never set, not a 500.
        value = None
    elif stream.value_updated_at is not None:
        updated_at = (stream.value_updated_at - _EPOCH) // timedelta(milliseconds=1)  # exact, no float
    series_ts = stream.current_ts if stream.is_numeric else None
    if series_ts is not None and (updated_at is None or series_ts >= updated_at):
        value, updated_at = stream.current_value, series_ts
    if value is not None:
        body["value"] = number(value, stream.value_type) if stream.is_numeric else value
        body["updatedAt"] = updated_at
    return body


def history(total: int, rows: list[SampleRow], value_type: str) -> dict:
    return {
        "totalElements": total,
        "content": [{"createdAt": row.ts, "value": number(row.value, value_type)} for row in rows],
    }


def batch_update(skipped: list[SkippedRow], *, debug: bool) -> dict:
    """Debug mode: a reason per skipped row (the first 100); counter mode: every counter."""
    if debug:
        return {
            "skippedRows": [
                f"Row {row.index}: " + _REASONS[row.reason].format(device_id=_SHOWN.repr(row.device_id))
                for row in skipped[:MAX_SKIPPED_ROWS]
            ]
        }
    return {COUNTERS[reason]: count for reason, count in skip_counts(skipped).items()}
