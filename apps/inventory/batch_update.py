"""Product batch updates: the current values of many devices of one product in one request, a
row of values a device, each value addressed by its datastream's label.

What a row looks like on the wire, and the rows refused for their shape, are the caller's (the
API dialect's); here a row is a DeviceRow. A request may hold 10,000 rows of hundreds of values,
or one row of 300,000 labels, so the work is linear in the rows and does as little per value as
it can: devices and datastreams are looked up in chunks as plain rows (no model instances), and
only the values that name one of the device's datastreams are visited.
"""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.core.exceptions import Invalid
from apps.core.time import now_ms

from .models import NUMERIC_VALUE_TYPES, DataStream, Device, Product
from .selectors import MAX_UID
from .services import LOOKUP_CHUNK, StreamTarget, values_apply
from .values import ValueMismatch, value_fitted

_INT_BOUND = 2**63  # integers within it are finite doubles; larger ones are checked by value_fitted


class DeviceSkip(enum.StrEnum):
    """Why a row's device was not updated, in the order the checks run."""

    DEVICE_NOT_FOUND = "device_not_found"
    NO_ACCESS_TO_DEVICE = "no_access_to_device"
    WRONG_PRODUCT = "wrong_product"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One row of a batch update: `index`, its position in the request (the skipped rows are
    reported by it); `uid`, its device; `values`, one a label, in the order of the labels."""

    index: int
    uid: int
    values: Sequence[Any]


@dataclass(frozen=True)
class SkippedRow:
    index: int
    reason: DeviceSkip
    uid: int


@dataclass(frozen=True)
class BatchUpdateResult:
    """`applied`: rows whose device was updated; `skipped`: the others, in row order."""

    applied: int
    skipped: list[SkippedRow] = field(default_factory=list)


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


def _devices(organization, uids: list[int]) -> dict[int, Device]:
    devices: dict[int, Device] = {}
    for start in range(0, len(uids), LOOKUP_CHUNK):
        chunk = uids[start : start + LOOKUP_CHUNK]
        devices.update(
            (d.uid, d)
            for d in Device.objects.filter(organization=organization, uid__in=chunk).only(
                "id", "uid", "owner_id", "product_id", "organization_id"
            )
        )
    return devices


def _targets(device_pks: list[int], labels: list[str]) -> dict[int, list[tuple[int, StreamTarget]]]:
    """For each device, its datastreams named by a label, each with the position of its value in
    a row. Labels are not unique on a device: the lowest stream id with the label is addressed."""
    column_of = {label: column for column, label in enumerate(labels)}
    named: dict[tuple[int, str], tuple[int, StreamTarget]] = {}
    for start in range(0, len(device_pks), LOOKUP_CHUNK):
        streams = DataStream.objects.filter(device_id__in=device_pks[start : start + LOOKUP_CHUNK])
        if len(column_of) <= LOOKUP_CHUNK:
            streams = streams.filter(label__in=list(column_of))
        # else: the devices' datastreams, matched here (too many labels for one statement).
        fields = ("pk", "device_id", "label", "value_type", "series_id")
        for pk, device_id, label, value_type, series_id in streams.order_by("-stream_id").values_list(
            *fields
        ):
            if label in column_of:
                named[(device_id, label)] = (column_of[label], StreamTarget(pk, value_type, series_id))
    targets: dict[int, list[tuple[int, StreamTarget]]] = {}
    for (device_id, _label), target in named.items():
        targets.setdefault(device_id, []).append(target)
    return targets


def product_batch_update(
    *,
    organization,
    labels: list[str],
    rows: Sequence[DeviceRow],
    owner=None,
    at_ms: int | None = None,
) -> BatchUpdateResult:
    """Set current values of many devices of one product: each row a device's values, one a label.

    The product is that of the first valid row's device (its root product, so sub-products count
    as their parent); rows are skipped, with a DeviceSkip reason, when they name a device that
    is not in the organization, one the caller may not see (`owner`: only that user's devices
    are accessible), or one of another product or of none. In a valid row a None value, a label
    the device has no datastream for, and a value that does not fit the datastream's type are
    skipped silently; a datastream named in several rows keeps the last value. Numeric values
    are recorded in history at `at_ms` (default now). Raises Invalid when no row names a valid
    device.
    """
    devices = _devices(organization, sorted({row.uid for row in rows if 0 <= row.uid <= MAX_UID}))
    roots = _product_roots(organization)

    product = None
    skipped: list[SkippedRow] = []
    valid: list[tuple[DeviceRow, Device]] = []
    for row in rows:
        device = devices.get(row.uid)
        if device is None:
            skipped.append(SkippedRow(row.index, DeviceSkip.DEVICE_NOT_FOUND, row.uid))
        elif owner is not None and device.owner_id != owner.pk:
            skipped.append(SkippedRow(row.index, DeviceSkip.NO_ACCESS_TO_DEVICE, row.uid))
        elif device.product_id is None or (product is not None and roots[device.product_id] != product):
            skipped.append(SkippedRow(row.index, DeviceSkip.WRONG_PRODUCT, row.uid))
        else:
            product = roots[device.product_id]
            valid.append((row, device))
    if not valid:
        raise Invalid("No row names a valid device to take the product from.", field="rows")

    targets = _targets(sorted({device.pk for _, device in valid}), labels)
    latest: dict[int, tuple[StreamTarget, Any]] = {}
    # The last row naming a device wins, cell by cell: read backwards, a datastream's first
    # usable cell is its value, and a device's earlier rows are visited only for the
    # datastreams still without one (none, usually, however many rows repeat the device).
    unset: dict[int, list[tuple[int, StreamTarget]]] = {}
    for row, device in reversed(valid):
        left = unset[device.pk] if device.pk in unset else targets.get(device.pk, [])
        if not left:
            continue
        values = row.values
        still = []
        for column, stream in left:
            cell = values[column]
            if cell is None:
                still.append((column, stream))
                continue
            # The common case, a finite JSON number for a numeric datastream, without a call.
            kind = type(cell)
            if stream.value_type in NUMERIC_VALUE_TYPES and (
                (kind is float and math.isfinite(cell)) or (kind is int and -_INT_BOUND < cell < _INT_BOUND)
            ):
                latest[stream.pk] = (stream, cell)
                continue
            try:
                latest[stream.pk] = (stream, value_fitted(value_type=stream.value_type, value=cell))
            except ValueMismatch:
                still.append((column, stream))
        unset[device.pk] = still
    with transaction.atomic(durable=True):
        values_apply(latest.values(), at_ms=now_ms() if at_ms is None else at_ms)
    return BatchUpdateResult(applied=len(valid), skipped=skipped)
