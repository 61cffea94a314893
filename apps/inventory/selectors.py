"""Reads of device configuration. Every function takes the caller's organization first: nothing
here can be asked about another organization's objects."""

from django.db.models import QuerySet

from apps.core import time as clock
from apps.core.exceptions import NotFound
from apps.timeseries.selectors import series_current

from .models import DataStream, Device, Load, Signal


def device_list(
    *, organization, uids: list[int] | None = None, protocol: str | None = None
) -> QuerySet[Device]:
    devices = Device.objects.filter(organization=organization).order_by("uid")
    if uids is not None:
        devices = devices.filter(uid__in=uids)
    if protocol is not None:
        devices = devices.filter(protocol=protocol)
    return devices


def device_get(*, organization, uid: int) -> Device:
    device = Device.objects.filter(organization=organization, uid=uid).first()
    if device is None:
        raise NotFound(f"Device {uid} not found.", field="uid")
    return device


def load_list(
    *,
    organization,
    uids: list[int] | None = None,
    protocol: str | None = None,
    device: Device | None = None,
) -> QuerySet[Load]:
    """Loads with their device; `protocol` is the device's protocol."""
    loads = Load.objects.filter(organization=organization).select_related("device").order_by("uid")
    if device is not None:
        loads = loads.filter(device=device)
    if uids is not None:
        loads = loads.filter(uid__in=uids)
    if protocol is not None:
        loads = loads.filter(device__protocol=protocol)
    return loads


def load_get(*, organization, uid: int) -> Load:
    load = Load.objects.filter(organization=organization, uid=uid).select_related("device").first()
    if load is None:
        raise NotFound(f"Load {uid} not found.", field="uid")
    return load


def signal_list(
    *,
    organization,
    uids: list[int] | None = None,
    load: Load | None = None,
    device: Device | None = None,
) -> QuerySet[Signal]:
    """Signals with their load, device and series (for the latest value): one query."""
    signals = (
        Signal.objects.filter(organization=organization)
        .select_related("load__device", "series")
        .order_by("uid")
    )
    if load is not None:
        signals = signals.filter(load=load)
    if device is not None:
        signals = signals.filter(load__device=device)
    if uids is not None:
        signals = signals.filter(uid__in=uids)
    return signals


def signal_get(*, organization, uid: int) -> Signal:
    signal = signal_list(organization=organization).filter(uid=uid).first()
    if signal is None:
        raise NotFound(f"Signal {uid} not found.", field="uid")
    return signal


# --- Blynk datastreams --------------------------------------------------------------------------
# `owner` limits what a caller may see to the devices that user owns (a Blynk user token with
# only OWN_DEVICES_VIEW); None means every device of the organization. A device the caller may
# not see is answered exactly like a missing one.

# Device uids are 32-bit in the APIs; bigger numbers name no device (and would overflow SQLite).
MAX_UID = 2**31 - 1


def _visible_devices(*, organization, owner=None) -> QuerySet[Device]:
    devices = Device.objects.filter(organization=organization)
    if owner is not None:
        devices = devices.filter(owner=owner)
    return devices


def device_find(*, organization, uid: int, owner=None) -> Device | None:
    """The device `uid` of `organization` if the caller may see it, else None."""
    if not 0 <= uid <= MAX_UID:
        return None
    return _visible_devices(organization=organization, owner=owner).filter(uid=uid).first()


def device_find_many(*, organization, uids: list[int], owner=None) -> dict[int, Device]:
    """The visible devices among `uids`, by uid (missing and invisible ones are left out)."""
    wanted = sorted({uid for uid in uids if 0 <= uid <= MAX_UID})
    if not wanted:
        return {}
    return {d.uid: d for d in _visible_devices(organization=organization, owner=owner).filter(uid__in=wanted)}


def datastream_list(
    *, devices: list[Device], stream_ids: list[int] | None = None, now_ms: int | None = None
) -> QuerySet[DataStream]:
    """The datastreams of `devices`, ordered by device and stream id, each annotated with its
    series' current sample as of `now_ms` (default now; `current_ts`, `current_value`, None
    without a series or a sample; see `series_current`): one query for any number of devices."""
    now_ms = clock.now_ms() if now_ms is None else now_ms
    streams = (
        DataStream.objects.filter(device__in=devices)
        .annotate(**series_current(now_ms=now_ms, via="series"))
        .order_by("device_id", "stream_id")
    )
    if stream_ids is not None:
        streams = streams.filter(stream_id__in=[i for i in set(stream_ids) if 0 <= i <= MAX_UID])
    return streams


def datastream_find(
    *, device: Device, stream_id: int | None = None, pin: str | None = None
) -> DataStream | None:
    """A datastream of `device` by stream id or, when no id is given, by pin (case-insensitive)."""
    streams = DataStream.objects.filter(device=device).select_related("series", "device__organization")
    if stream_id is not None:
        if not 0 <= stream_id <= MAX_UID:
            return None
        return streams.filter(stream_id=stream_id).first()
    if pin is not None:
        return streams.filter(pin__iexact=pin).first()
    return None
