"""Reads of device configuration. Every function takes the caller's organization first: nothing
here can be asked about another organization's objects."""

from django.db.models import QuerySet

from apps.core.exceptions import NotFound

from .models import Device, Load, Signal


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
