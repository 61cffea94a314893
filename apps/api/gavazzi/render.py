"""The EMS gateway's wire shapes. Lists are objects keyed by uid as a string (API.md §4)."""

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
        "d": rollup.delta,
        "max": rollup.max,
        "min": rollup.min,
    }
