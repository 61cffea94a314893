"""Writes to datastreams: current values, widget properties and history imports (product batch
updates are in batch_update.py).

A datastream keeps its current value on its row; a numeric one (integer, double, enum) also keeps
a history in its Series, written through the store only (`store.write`), so what is written here
is read back by every dialect that shares the series. String and location datastreams keep
their current value only.

Callers resolve devices and datastreams inside the caller's organization first (selectors); the
functions here trust the objects they are given and raise the project's exceptions (Invalid,
QuotaExceeded) for input that breaks a rule, before anything is stored.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from django.db import connection, transaction

from apps.core.exceptions import Invalid, QuotaExceeded
from apps.core.time import now_ms
from apps.timeseries.models import Series, ms_to_datetime
from apps.timeseries.store import TS_RANGE_TEXT, Policy, SampleBatch, ts_outside_range, write

from .models import NUMERIC_VALUE_TYPES, DataStream, Device, DeviceImportDay
from .selectors import MAX_UID
from .values import ValueMismatch, type_name, value_fitted

DAY_MS = 86_400_000
# Ids are looked up in chunks: SQLite allows a limited number of parameters a statement.
LOOKUP_CHUNK = 900
BULK_CREATE_BATCH = 1_000


# --- values and their types ----------------------------------------------------------------------


def _ensure_series(streams: list[DataStream]) -> None:
    """Give every numeric datastream among `streams` a Series for its history, creating the
    missing ones (a datastream added in the admin may have none yet). Runs inside the caller's
    transaction; the row lock makes two concurrent first writes create one series, not two.
    The missing series are created in bulk and linked with one update: a batch update may name
    thousands of new datastreams, and two queries each took seconds."""
    missing = [s.pk for s in streams if s.value_type in NUMERIC_VALUE_TYPES and s.series_id is None]
    if not missing:
        return
    series_of: dict[int, int] = {}
    unlinked: list[tuple[int, Series]] = []  # (datastream pk, its new series)
    for start in range(0, len(missing), LOOKUP_CHUNK):
        locked = (
            DataStream.objects.select_for_update(of=("self",))
            .filter(pk__in=missing[start : start + LOOKUP_CHUNK])
            .order_by("pk")
            .values_list("pk", "series_id", "organization_id", "device__label", "label", "device__site_id")
        )
        for pk, series_id, organization_id, device_label, label, site_id in locked:
            if series_id is None:
                # The device's place is the series' calendar. `revision` is given its database
                # default so that Django inserts the series with one UNNEST (see bulk/resolve.py).
                name = f"{device_label} {label}"[:200]
                series = Series(organization_id=organization_id, name=name, site_id=site_id, revision=0)
                unlinked.append((pk, series))
            else:
                series_of[pk] = series_id
    Series.objects.bulk_create([series for _, series in unlinked], batch_size=BULK_CREATE_BATCH)
    series_of.update((pk, series.pk) for pk, series in unlinked)
    _datastreams_update(
        [pk for pk, _ in unlinked],
        arrays={"series_id": ("bigint", [series.pk for _, series in unlinked])},
        constants={},
    )
    for stream in streams:
        if stream.pk in series_of:
            stream.series_id = series_of[stream.pk]


@dataclass(slots=True)
class StreamTarget:
    """The columns of a datastream that setting its current value needs (a DataStream has them
    too): a batch update reads them for up to a hundred thousand datastreams, where building
    model instances would cost seconds."""

    pk: int
    value_type: str
    series_id: int | None
    value: Any = None
    value_updated_at: datetime | None = None


def values_apply(pairs: Iterable[tuple[DataStream | StreamTarget, Any]], *, at_ms: int) -> None:
    """Set current values (the last pair wins for a datastream named twice) and record the
    numeric ones in history at `at_ms`: one update statement and one store write, in one
    transaction. The values must fit their datastreams' types (value_fitted)."""
    latest: dict[int, tuple[DataStream | StreamTarget, Any]] = {}
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
        _current_values_update(streams, updated_at)
        numeric = [s for s in streams if s.value_type in NUMERIC_VALUE_TYPES]
        if numeric:
            write(
                SampleBatch(
                    series_ids=np.fromiter(
                        (s.series_id for s in numeric), dtype=np.int64, count=len(numeric)
                    ),
                    ts=np.full(len(numeric), at_ms, dtype=np.int64),
                    values=np.fromiter((s.value for s in numeric), dtype=np.float64, count=len(numeric)),
                ),
                Policy.OVERWRITE,
            )


def _current_values_update(streams: list, updated_at: datetime) -> None:
    """Store the current values of `streams` and when they were set: their JSON text, as the
    JSONField would write it."""
    _datastreams_update(
        [stream.pk for stream in streams],
        arrays={"value": ("jsonb", [orjson.dumps(stream.value).decode() for stream in streams])},
        constants={"value_updated_at": connection.ops.adapt_datetimefield_value(updated_at)},
    )


def _datastreams_update(ids: list[int], *, arrays: dict[str, tuple[str, list]], constants: dict) -> None:
    """Set, on the datastream of each id, `column = values[i]` for every `column: (type, values)`
    of `arrays`, and the `constants`, in one statement.

    Hand-written SQL: Django's bulk_update builds a CASE with a WHEN per row, compiled in Python
    (~1 ms a row here: the 100,000 datastreams a batch update may name took minutes), whose CASE
    PostgreSQL then searches row by row. Here PostgreSQL gets the ids and each column's values
    as arrays and joins them to the table (`type` is the column's SQL type, the arrays travel as
    text); SQLite runs one short UPDATE per row, prepared once (executemany).
    """
    table = DataStream._meta.db_table
    names, constant_names = list(arrays), list(constants)
    # Rows are locked in id order, so two writers of overlapping datastreams cannot deadlock.
    order = sorted(range(len(ids)), key=ids.__getitem__)
    ids = [ids[i] for i in order]
    arrays = {name: (kind, [values[i] for i in order]) for name, (kind, values) in arrays.items()}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            assignments = [f"{name} = v.{name}::{arrays[name][0]}" for name in names]
            assignments += [f"{name} = %s" for name in constant_names]
            unnest = ", ".join(["%s::bigint[]"] + ["%s::text[]"] * len(names))
            cursor.execute(
                f"UPDATE {table} AS d SET {', '.join(assignments)} "
                f"FROM unnest({unnest}) AS v(id, {', '.join(names)}) WHERE d.id = v.id",
                [*constants.values(), ids, *([str(x) for x in arrays[name][1]] for name in names)],
            )
        else:
            assignments = ", ".join(f"{name} = %s" for name in names + constant_names)
            columns = [arrays[name][1] for name in names]
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s",
                [(*row, *constants.values(), pk) for pk, *row in zip(ids, *columns, strict=True)],
            )


@transaction.atomic(durable=True)
def datastream_value_set(*, datastream: DataStream, value: Any, at_ms: int | None = None) -> None:
    """Set a datastream's current value; a numeric value is also recorded in history at `at_ms`
    (default: now, the server's time). Raises Invalid when the value does not fit the type."""
    try:
        fitted = value_fitted(value_type=datastream.value_type, value=value)
    except ValueMismatch as exc:
        raise Invalid(
            f"'value' must be {exc} for datastream {datastream.stream_id}, a "
            f"{type_name(datastream.value_type)} datastream.",
            field="value",
        ) from exc
    values_apply([(datastream, fitted)], at_ms=now_ms() if at_ms is None else at_ms)


@transaction.atomic(durable=True)
def datastream_values_set(*, device: Device, values: dict[int, Any], at_ms: int | None = None) -> int:
    """Set several current values of one device, by stream id. Unknown stream ids and values
    that do not fit their datastream's type are skipped silently, not refused. Returns how
    many were set."""
    if not values:
        return 0
    streams = DataStream.objects.filter(device=device)
    if len(values) <= LOOKUP_CHUNK:
        streams = streams.filter(stream_id__in=[i for i in values if 0 <= i <= MAX_UID])
    # else: the device's datastreams, fewer than the keys (a 4 MiB body holds 300,000 of them,
    # too many parameters for one statement), matched here.
    pairs = []
    for pk, stream_id, value_type, series_id in streams.values_list(
        "pk", "stream_id", "value_type", "series_id"
    ):
        if stream_id not in values:
            continue
        try:
            value = value_fitted(value_type=value_type, value=values[stream_id])
        except ValueMismatch:
            continue
        pairs.append((StreamTarget(pk, value_type, series_id), value))
    values_apply(pairs, at_ms=now_ms() if at_ms is None else at_ms)
    return len(pairs)


# --- widget properties ---------------------------------------------------------------------------


def datastream_property_set(*, datastream: DataStream, name: str, value: Any) -> None:
    """Set one widget property of a datastream to `value` (JSON, without a NUL: it is kept as
    jsonb), the other properties kept. Which properties a widget has, and what each may hold,
    is the caller's to check. The widget label is a property; the datastream's own label (which
    batch updates address) does not change.
    """
    with transaction.atomic(durable=True):
        locked = DataStream.objects.select_for_update().get(pk=datastream.pk)
        # Properties stored as something other than an object (before the admin checked them)
        # are replaced, not merged into: `{**[...]}` was a 500.
        kept = locked.properties if isinstance(locked.properties, dict) else {}
        locked.properties = {**kept, name: value}
        locked.save(update_fields=["properties"])
    datastream.properties = locked.properties


# --- history -------------------------------------------------------------------------------------


def datastream_require_history(*, datastream: DataStream) -> None:
    """Raise Invalid unless the datastream keeps a history (numeric types only)."""
    if datastream.value_type not in NUMERIC_VALUE_TYPES:
        raise Invalid(
            f"Data stream {datastream.stream_id} is a {type_name(datastream.value_type)} datastream: "
            "history is kept for numeric datastreams (integer, double, enum) only.",
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
    *,
    datastream: DataStream,
    ts: Sequence[int],
    values: Sequence[float],
    window_days: int,
    at_ms: int | None = None,
) -> HistoryImportResult:
    """Import history points (epoch ms, value) into a numeric datastream, all or nothing.

    A timestamp outside the store's range, or more than `window_days` days before `at_ms`
    (default now), refuses the request (Invalid naming the first such index); one more
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
    window_ms = window_days * DAY_MS
    too_old = np.flatnonzero(stamps < at_ms - window_ms)
    if len(too_old):
        index = int(too_old[0])
        raise Invalid(
            f"The timestamp at index {index} is more than {window_days} days in the "
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
