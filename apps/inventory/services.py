"""Writes to datastreams: current values, widget properties, product batch updates and history
imports (the Blynk Platform API's writes, in domain terms).

A datastream keeps its current value on its row; a numeric one (integer, double, enum) also keeps
a history in its Series, written through the store only (`store.write`), so what is written here
is read back by every dialect that shares the series. String and location datastreams keep
their current value only.

Callers resolve devices and datastreams inside the caller's organization first (selectors); the
functions here trust the objects they are given and raise the project's exceptions (Invalid,
QuotaExceeded) for input that breaks a rule, before anything is stored.
"""

import enum
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from apps.core.exceptions import Invalid, QuotaExceeded
from apps.core.text import NUL
from apps.timeseries.models import Series, ms_to_datetime
from apps.timeseries.store import TS_RANGE_TEXT, Policy, SampleBatch, ts_outside_range, write

from .models import NUMERIC_VALUE_TYPES, DataStream, Device, DeviceImportDay, Product, ValueType
from .selectors import MAX_UID

DAY_MS = 86_400_000
# Ids are looked up in chunks: SQLite allows a limited number of parameters a statement.
LOOKUP_CHUNK = 900
BULK_UPDATE_BATCH = 500

PROPERTY_VALUE_MAX_LENGTH = 200
WIDGET_PROPERTIES = ("label", "color", "min", "max", "step", "units")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- values and their types ----------------------------------------------------------------------


class _Mismatch(Exception):
    """A value that does not fit a datastream's type; the message says what was expected."""


def _number(value: Any) -> float:
    # bool is an int subclass: a JSON true is not the number 1 (API.md §0).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Mismatch("a number")
    try:
        number = float(value)
    except OverflowError as exc:
        raise _Mismatch("a finite number") from exc
    if not math.isfinite(number):
        raise _Mismatch("a finite number")
    return number


def _fitted(datastream: DataStream, value: Any) -> Any:
    """`value` as it is stored for `datastream`'s type; _Mismatch when it does not fit.

    Numbers are stored as given (an integer stays one); a location is `[lon, lat]` with
    longitude in [-180, 180] and latitude in [-90, 90]; a string holds no NUL.
    """
    if datastream.value_type == ValueType.STRING:
        if not isinstance(value, str):
            raise _Mismatch("a string")
        if NUL in value:  # the value is kept as jsonb, which cannot hold one (apps.core.text)
            raise _Mismatch("a string without the NUL character (U+0000)")
        return value
    if datastream.value_type == ValueType.LOCATION:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _Mismatch("[longitude, latitude]")
        lon, lat = (_number(item) for item in value)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise _Mismatch("[longitude, latitude] within [-180, 180] and [-90, 90]")
        return [value[0], value[1]]
    _number(value)
    return value


def _type_name(datastream: DataStream) -> str:
    return ValueType(datastream.value_type).label.lower()


def _ensure_series(streams: list[DataStream]) -> None:
    """Give every numeric datastream among `streams` a Series for its history, creating the
    missing ones (a datastream added in the admin may have none yet). Runs inside the caller's
    transaction; the row lock makes two concurrent first writes create one series, not two."""
    missing = [s.pk for s in streams if s.value_type in NUMERIC_VALUE_TYPES and s.series_id is None]
    if not missing:
        return
    locked = DataStream.objects.select_for_update().filter(pk__in=missing).select_related("device")
    created = {}
    for stream in locked:
        if stream.series_id is None:
            stream.series = Series.objects.create(
                organization_id=stream.organization_id,
                name=f"{stream.device.label} {stream.label}"[:200],
                site_id=stream.device.site_id,  # the device's place is the series' calendar
            )
            stream.save(update_fields=["series"])
        created[stream.pk] = stream.series_id
    for stream in streams:
        if stream.pk in created:
            stream.series_id = created[stream.pk]


def _apply_values(pairs: list[tuple[DataStream, Any]], *, at_ms: int) -> None:
    """Set current values (the last pair wins for a datastream named twice) and record the
    numeric ones in history at `at_ms`: one bulk update and one store write, one transaction."""
    latest: dict[int, tuple[DataStream, Any]] = {}
    for stream, value in pairs:
        latest[stream.pk] = (stream, value)
    if not latest:
        return
    updated_at = ms_to_datetime(at_ms)
    streams = []
    for stream, value in latest.values():
        stream.value = value
        stream.value_updated_at = updated_at
        streams.append(stream)
    with transaction.atomic():
        _ensure_series(streams)
        DataStream.objects.bulk_update(streams, ["value", "value_updated_at"], batch_size=BULK_UPDATE_BATCH)
        numeric = [s for s in streams if s.value_type in NUMERIC_VALUE_TYPES]
        if numeric:
            write(
                SampleBatch(
                    series_ids=[s.series_id for s in numeric],
                    ts=[at_ms] * len(numeric),
                    values=[float(s.value) for s in numeric],
                ),
                Policy.OVERWRITE,
            )


@transaction.atomic(durable=True)
def datastream_value_set(*, datastream: DataStream, value: Any, at_ms: int | None = None) -> None:
    """Set a datastream's current value; a numeric value is also recorded in history at `at_ms`
    (default: now, the server's time). Raises Invalid when the value does not fit the type."""
    try:
        fitted = _fitted(datastream, value)
    except _Mismatch as exc:
        raise Invalid(
            f"'value' must be {exc} for datastream {datastream.stream_id}, a {_type_name(datastream)} "
            "datastream.",
            field="value",
        ) from exc
    _apply_values([(datastream, fitted)], at_ms=now_ms() if at_ms is None else at_ms)


@transaction.atomic(durable=True)
def datastream_values_set(*, device: Device, values: dict[int, Any], at_ms: int | None = None) -> int:
    """Set several current values of one device, by stream id. Unknown stream ids and values
    that do not fit their datastream's type are skipped silently (the Blynk rule). Returns how
    many were set."""
    if not values:
        return 0
    wanted = [stream_id for stream_id in values if 0 <= stream_id <= MAX_UID]
    streams = DataStream.objects.filter(device=device, stream_id__in=wanted)
    pairs = []
    for stream in streams:
        try:
            pairs.append((stream, _fitted(stream, values[stream.stream_id])))
        except _Mismatch:
            continue
    _apply_values(pairs, at_ms=now_ms() if at_ms is None else at_ms)
    return len(pairs)


# --- widget properties ---------------------------------------------------------------------------


def _property_value(name: str, value: str) -> Any:
    """The stored form of widget property `name`; Invalid naming the rule it breaks."""
    if name == "color":
        if not _COLOR.fullmatch(value):
            raise Invalid("'value' must be a color in the form #RRGGBB for property 'color'.", field="value")
        return value
    if name in ("min", "max", "step"):
        text = value.strip()
        number = float(text) if _DECIMAL.fullmatch(text) else math.nan
        if not math.isfinite(number):
            raise Invalid(f"'value' must be a number for property '{name}'.", field="value")
        if name == "step" and number <= 0:
            raise Invalid("'value' must be a positive number for property 'step'.", field="value")
        return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number
    if name == "label" and not value.strip():
        raise Invalid("'value' must not be blank for property 'label'.", field="value")
    return value


def datastream_property_set(*, datastream: DataStream, name: str, value: str) -> None:
    """Set one widget property of a datastream.

    `name` is one of WIDGET_PROPERTIES; `value` a string of at most 200 characters that fits it:
    `color` is #RRGGBB, `min`/`max`/`step` are decimal numbers (stored as numbers; `step` > 0),
    `label` is not blank, `units` any text (empty clears it). The widget label is a property;
    the datastream's own label (which batch updates address) does not change.
    """
    if name not in WIDGET_PROPERTIES:
        raise Invalid(f"'property' must be one of {', '.join(WIDGET_PROPERTIES)}.", field="property")
    if not isinstance(value, str):
        raise Invalid("'value' must be a string.", field="value")
    if len(value) > PROPERTY_VALUE_MAX_LENGTH:
        raise Invalid(f"'value' must be at most {PROPERTY_VALUE_MAX_LENGTH} characters.", field="value")
    if NUL in value:  # properties are kept as jsonb, which cannot hold one (apps.core.text)
        raise Invalid("'value' may not contain the NUL character (U+0000).", field="value")
    stored = _property_value(name, value)
    with transaction.atomic(durable=True):
        locked = DataStream.objects.select_for_update().get(pk=datastream.pk)
        locked.properties = {**(locked.properties or {}), name: stored}
        locked.save(update_fields=["properties"])
    datastream.properties = locked.properties


# --- product batch update ------------------------------------------------------------------------


class RowSkip(enum.StrEnum):
    """Why a row of a product batch update was skipped, in the order the checks run."""

    INVALID_ROW_SIZE = "invalid_row_size"
    NULL_DEVICE_ID = "null_device_id"
    NON_NUMERIC_DEVICE_ID = "non_numeric_device_id"
    DEVICE_NOT_FOUND = "device_not_found"
    NO_ACCESS_TO_DEVICE = "no_access_to_device"
    WRONG_PRODUCT = "wrong_product"


@dataclass(frozen=True)
class SkippedRow:
    index: int
    reason: RowSkip
    device_id: Any = None


@dataclass(frozen=True)
class BatchUpdateResult:
    """`applied`: rows whose device was updated; `skipped`: the others, in row order."""

    applied: int
    skipped: list[SkippedRow] = field(default_factory=list)

    def counts(self) -> dict[RowSkip, int]:
        result = dict.fromkeys(RowSkip, 0)
        for row in self.skipped:
            result[row.reason] += 1
        return result


def _device_id(cell: Any) -> int | None:
    """A row's device id: a JSON integer or a string of digits; None when it is neither."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, str) and cell.isascii() and cell.isdigit() and len(cell) <= 18:
        return int(cell)
    return None


def _product_roots(organization) -> dict[int, int]:
    """Every product of the organization mapped to its root (a sub-product counts as its parent):
    one query, whatever the depth."""
    parents = dict(Product.objects.filter(organization=organization).values_list("id", "parent_id"))
    roots = {}
    for product_id in parents:
        root, seen = product_id, set()
        while parents.get(root) is not None and root not in seen:
            seen.add(root)
            root = parents[root]
        roots[product_id] = root
    return roots


def product_batch_update(
    *,
    organization,
    labels: list[str],
    rows: Sequence[Any],
    owner=None,
    at_ms: int | None = None,
) -> BatchUpdateResult:
    """Set current values of many devices of one product: row = [device id, value per label].

    The product is that of the first valid row's device (its root product, so sub-products count
    as their parent); rows are skipped, with a RowSkip reason, when they have the wrong length,
    no or a non-numeric device id, name a device that is not in the organization, one the caller
    may not see (`owner`: only that user's devices are accessible), or one of another product
    or of none. In a valid row a `null` cell, a label the device has no datastream for, and a
    value that does not fit the datastream's type are skipped silently. Numeric values are
    recorded in history at `at_ms` (default now). Raises Invalid when no row names a valid device.
    """
    width = len(labels) + 1
    ids: list[int | None] = []
    skipped: list[SkippedRow] = []
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            skipped.append(SkippedRow(index, RowSkip.INVALID_ROW_SIZE))
            ids.append(None)
        elif row[0] is None:
            skipped.append(SkippedRow(index, RowSkip.NULL_DEVICE_ID))
            ids.append(None)
        elif (uid := _device_id(row[0])) is None:
            skipped.append(SkippedRow(index, RowSkip.NON_NUMERIC_DEVICE_ID, row[0]))
            ids.append(None)
        else:
            ids.append(uid)

    wanted = sorted({uid for uid in ids if uid is not None and 0 <= uid <= MAX_UID})
    devices: dict[int, Device] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        devices.update(
            (d.uid, d)
            for d in Device.objects.filter(organization=organization, uid__in=chunk).only(
                "id", "uid", "owner_id", "product_id", "organization_id"
            )
        )
    roots = _product_roots(organization)

    product = None
    valid: list[tuple[int, Device]] = []
    for index, uid in enumerate(ids):
        if uid is None:
            continue
        device = devices.get(uid)
        if device is None:
            skipped.append(SkippedRow(index, RowSkip.DEVICE_NOT_FOUND, uid))
        elif owner is not None and device.owner_id != owner.pk:
            skipped.append(SkippedRow(index, RowSkip.NO_ACCESS_TO_DEVICE, uid))
        elif device.product_id is None or (product is not None and roots[device.product_id] != product):
            skipped.append(SkippedRow(index, RowSkip.WRONG_PRODUCT, uid))
        else:
            product = roots[device.product_id]
            valid.append((index, device))
    if not valid:
        raise Invalid("No row names a valid device to take the product from.", field="rows")

    streams: dict[tuple[int, str], DataStream] = {}
    device_pks = sorted({device.pk for _, device in valid})
    wanted_labels = set(labels)
    for start in range(0, len(device_pks), LOOKUP_CHUNK):
        # Labels are not unique on a device: the lowest stream id with the label is addressed.
        for stream in DataStream.objects.filter(
            device_id__in=device_pks[start : start + LOOKUP_CHUNK]
        ).order_by("-stream_id"):
            if stream.label in wanted_labels:
                streams[(stream.device_id, stream.label)] = stream

    pairs = []
    for index, device in valid:
        for label, cell in zip(labels, rows[index][1:], strict=True):
            stream = streams.get((device.pk, label))
            if cell is None or stream is None:
                continue
            try:
                pairs.append((stream, _fitted(stream, cell)))
            except _Mismatch:
                continue
    with transaction.atomic(durable=True):
        _apply_values(pairs, at_ms=now_ms() if at_ms is None else at_ms)
    return BatchUpdateResult(applied=len(valid), skipped=sorted(skipped, key=lambda row: row.index))


# --- history -------------------------------------------------------------------------------------


def datastream_require_history(*, datastream: DataStream) -> None:
    """Raise Invalid unless the datastream keeps a history (numeric types only)."""
    if datastream.value_type not in NUMERIC_VALUE_TYPES:
        raise Invalid(
            f"Data stream {datastream.stream_id} is a {_type_name(datastream)} datastream: history is "
            "kept for numeric datastreams (integer, double, enum) only.",
            field="dataStream",
        )


@dataclass(frozen=True)
class HistoryImportResult:
    """`accepted`: points stored (and counted against the day's quota); `skipped`: points
    too far in the future, left out silently."""

    accepted: int
    skipped: int


def _next_utc_midnight_seconds(at_ms: int) -> int:
    now = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


def device_import_quota_take(*, device: Device, points: int, at_ms: int) -> None:
    """Count `points` against the device's import allowance for the UTC day of `at_ms`, or raise
    QuotaExceeded (Retry-After: the seconds to the next UTC midnight) and count nothing.

    One conditional upsert, `INSERT ... ON CONFLICT DO UPDATE ... WHERE <fits> RETURNING`: it
    adds the points only when the sum stays within the limit, and returns no row otherwise.
    Concurrent requests for the same device queue on the counter row, and each re-checks the
    sum against the committed count, so two requests can never both take the last points. It
    runs in the caller's transaction: when the write that follows fails, the count rolls back
    with it. Hand-written SQL because the ORM has no conditional upsert; the same statement
    runs on PostgreSQL and SQLite (3.35+).
    """
    limit = device.organization.effective_import_points_per_device_day
    day = datetime.fromtimestamp(at_ms / 1000, tz=UTC).date()
    table = DeviceImportDay._meta.db_table
    taken = None
    if points <= limit:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (device_id, day, points) VALUES (%s, %s, %s) "
                f"ON CONFLICT (device_id, day) DO UPDATE SET points = {table}.points + excluded.points "
                f"WHERE {table}.points + excluded.points <= %s RETURNING points",
                [device.pk, day, points, limit],
            )
            taken = cursor.fetchone()
    if taken is None:
        used = DeviceImportDay.objects.filter(device=device, day=day).values_list("points", flat=True).first()
        left = max(0, limit - (used or 0))
        raise QuotaExceeded(
            f"Device {device.uid} may import {limit} points a day (UTC); {left} are left today and this "
            f"request holds {points}.",
            retry_after=_next_utc_midnight_seconds(at_ms),
            field="values",
        )


def datastream_history_import(
    *, datastream: DataStream, ts: Sequence[int], values: Sequence[float], at_ms: int | None = None
) -> HistoryImportResult:
    """Import history points (epoch ms, value) into a numeric datastream, all or nothing.

    A timestamp outside the store's range, or more than BLYNK_IMPORT_WINDOW_DAYS (30) days before
    `at_ms` (default now), refuses the request (Invalid naming the first such index); one more
    than that many days after `at_ms`, but within the range, is skipped silently. The points
    kept count against the device's daily import quota (QuotaExceeded, nothing stored, nothing
    counted) and are written with one store write under the overwrite policy: a stored value at
    the same millisecond is replaced, and within the request the last occurrence of a timestamp
    wins. The checks are vectorised: 10,000 points
    cost a few numpy operations, not a loop.
    """
    datastream_require_history(datastream=datastream)
    at_ms = now_ms() if at_ms is None else at_ms
    stamps = np.asarray(ts, dtype=np.int64)
    numbers = np.asarray(values, dtype=np.float64)
    if stamps.shape != numbers.shape or stamps.ndim != 1:
        raise Invalid("timestamps and values differ in length", field="values")
    not_finite = np.flatnonzero(~np.isfinite(numbers))
    if len(not_finite):
        index = int(not_finite[0])
        raise Invalid(f"The value at index {index} is not a finite number.", field="value", index=index)
    outside = ts_outside_range(stamps)
    if len(outside):
        index = int(outside[0])
        raise Invalid(f"The timestamp at index {index} is outside {TS_RANGE_TEXT}.", field="ts", index=index)
    window_ms = settings.BLYNK_IMPORT_WINDOW_DAYS * DAY_MS
    too_old = np.flatnonzero(stamps < at_ms - window_ms)
    if len(too_old):
        index = int(too_old[0])
        raise Invalid(
            f"The timestamp at index {index} is more than {settings.BLYNK_IMPORT_WINDOW_DAYS} days in the "
            "past; older timestamps are not accepted.",
            field="ts",
            index=index,
        )
    kept = stamps <= at_ms + window_ms
    accepted = int(kept.sum())
    if accepted:
        with transaction.atomic(durable=True):
            _ensure_series([datastream])
            device_import_quota_take(device=datastream.device, points=accepted, at_ms=at_ms)
            if accepted < len(stamps):
                stamps, numbers = stamps[kept], numbers[kept]
            write(
                SampleBatch(
                    series_ids=np.full(accepted, datastream.series_id, dtype=np.int64),
                    ts=stamps,
                    values=numbers,
                ),
                Policy.OVERWRITE,
            )
    return HistoryImportResult(accepted=accepted, skipped=len(kept) - accepted)
