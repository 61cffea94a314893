"""The EMS gateway's wire shapes. Lists are objects keyed by uid as a string (API.md §4)."""

import math

from apps.inventory.models import Device, Load, Signal
from apps.timeseries.query import Rollup


def keyed(items, render) -> dict[str, dict]:
    return {str(item.uid): render(item) for item in items}


def device(device: Device) -> dict:
    return {
        "uid": device.uid,
        "label": device.label,
        "partNumber": device.part_number,
        "system": device.system,
    }


def load(load: Load) -> dict:
    body = {
        "uid": load.uid,
        "label": load.label,
        "enable": load.enable,
        "index": load.index,
        "type": load.type,
        "did": load.device.uid,
    }
    protocol = load.device.protocol
    if protocol:
        # The admin keeps `config` an object of objects; one stored otherwise (before it did,
        # or in SQL) shows as no configuration rather than failing the whole list.
        config = load.config if isinstance(load.config, dict) else {}
        shown = config.get(protocol)
        body[protocol] = shown if isinstance(shown, dict) else {}
    return body


def signal(signal: Signal) -> dict:
    return {
        "uid": signal.uid,
        "si": signal.si,
        "sir": signal.effective_sir,
        "enable": signal.enable,
        "lid": signal.load.uid,
        "did": signal.load.device.uid,
    }


# current_*: annotated by `selectors.series_current`, the series' newest sample at or before now.
REALTIME_FIELDS = ("uid", "si", "enable", "current_ts", "current_value")


def realtime(row: tuple, *, now_ms: int, staleness_ms: int) -> dict:
    """A REALTIME_FIELDS row. `s` is 1 when the signal is enabled and its current value younger
    than the staleness limit. Rows, not model instances: a thousand signals render in a few ms."""
    uid, si, enable, last_ts, last_value = row
    fresh = last_ts is not None and now_ms - last_ts < staleness_ms
    return {
        "uid": uid,
        "si": si,
        "v": last_value if last_ts is not None else None,
        "t": last_ts,
        "r": 0,
        "s": 1 if enable and fresh else 0,
    }


def history_record(uid: int, rollup: Rollup) -> dict:
    """`t` (last sample, floored) and `p` (period end) in epoch seconds, as the vendor shows them."""
    return {
        "uid": uid,
        "t": rollup.last_ts // 1000,
        "p": rollup.period_end_ms // 1000,
        "v": rollup.value,
        "d": decimal_delta(value=rollup.value, delta=rollup.delta),
        "max": rollup.max,
        "min": rollup.min,
    }


# Significant digits of a reading that a delta keeps: a double holds 15 to 17, and meters send
# far fewer, so the digits past the 12th of the larger reading are binary noise.
READING_DIGITS = 12


def decimal_delta(*, value: float, delta: float) -> float:
    """`delta` (value - previous value) as the difference of the two decimal readings: rounded at
    the 12th significant digit of the larger reading, where the binary subtraction's noise starts
    (10.4 - 10.3 is 0.09999999999999964 in binary, 0.1 here). Rounding the difference itself to
    12 digits would not do for counters: 1000000.4 - 1000000.3 is 0.10000000009313226, whose
    noise lies within its first 12 digits."""
    previous = value - delta
    magnitude = max(abs(value), abs(previous))
    if delta == 0 or not math.isfinite(magnitude):
        return delta
    return round(delta, READING_DIGITS - 1 - math.floor(math.log10(magnitude)))
