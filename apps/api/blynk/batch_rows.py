"""The rows of a Blynk product batch update (API.md §2) as the wire has them: `[deviceId, value
per label]`, the device id a JSON integer or a string of digits. A row of the wrong length or
without a usable device id is skipped here, for its shape; the others become the service's
DeviceRows (apps.inventory.batch_update), which skips rows for their device. RowSkip names
every reason in the order the checks run, which is the order of the response's counters."""

import enum
from dataclasses import dataclass
from typing import Any

from apps.inventory.batch_update import BatchUpdateResult, DeviceRow, DeviceSkip


class RowSkip(enum.StrEnum):
    """Why a row was skipped: its shape (the first three), then its device."""

    INVALID_ROW_SIZE = "invalid_row_size"
    NULL_DEVICE_ID = "null_device_id"
    NON_NUMERIC_DEVICE_ID = "non_numeric_device_id"
    DEVICE_NOT_FOUND = DeviceSkip.DEVICE_NOT_FOUND.value
    NO_ACCESS_TO_DEVICE = DeviceSkip.NO_ACCESS_TO_DEVICE.value
    WRONG_PRODUCT = DeviceSkip.WRONG_PRODUCT.value


@dataclass(frozen=True)
class SkippedRow:
    """`device_id` as the row has it (None for a row without one), for the debug report."""

    index: int
    reason: RowSkip
    device_id: Any = None


def row_device_uid(cell: Any) -> int | None:
    """A row's device id: a JSON integer or a string of digits; None when it is neither."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, str) and cell.isascii() and cell.isdigit() and len(cell) <= 18:
        return int(cell)
    return None


def rows_read(rows: list, width: int) -> tuple[list[DeviceRow], list[SkippedRow]]:
    """The rows of `width` cells with a device id, as DeviceRows, and the others, skipped."""
    device_rows: list[DeviceRow] = []
    skipped: list[SkippedRow] = []
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            skipped.append(SkippedRow(index, RowSkip.INVALID_ROW_SIZE))
        elif row[0] is None:
            skipped.append(SkippedRow(index, RowSkip.NULL_DEVICE_ID))
        elif (uid := row_device_uid(row[0])) is None:
            skipped.append(SkippedRow(index, RowSkip.NON_NUMERIC_DEVICE_ID, row[0]))
        else:
            device_rows.append(DeviceRow(index, uid, row[1:]))
    return device_rows, skipped


def rows_skipped(shape: list[SkippedRow], result: BatchUpdateResult) -> list[SkippedRow]:
    """Every skipped row, for its shape or for its device, in row order."""
    by_device = [SkippedRow(row.index, RowSkip(row.reason), row.uid) for row in result.skipped]
    return sorted(shape + by_device, key=lambda row: row.index)


def skip_counts(skipped: list[SkippedRow]) -> dict[RowSkip, int]:
    """How many rows were skipped for each reason, every reason counted (0 included)."""
    counts = dict.fromkeys(RowSkip, 0)
    for row in skipped:
        counts[row.reason] += 1
    return counts
