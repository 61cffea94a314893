"""Every path of the EMS gateway dialect (API.md §4), in one module. The vendor lost its paths
but `/ver` and `/v1/auth/login`; the rest are this project's decision. Uids in paths are taken
as strings and parsed by the views, so a bad one answers in the EMS error shape."""

from django.urls import path, re_path

from . import views

DEVICE, LOAD, SIGNAL = "<str:device_uid>", "<str:load_uid>", "<str:signal_uid>"


def route(pattern: str, view, name: str):
    return path(pattern, view.as_view(), name=f"gavazzi-{name}")


urlpatterns = [
    route("ver", views.VersionView, "version"),
    route("v1/auth/login", views.LoginView, "login"),
    route("v1/sn", views.SerialNumberView, "sn"),
    route("v1/mac", views.MacView, "mac"),
    route("v1/devices", views.DeviceView, "devices"),
    route(f"v1/devices/{DEVICE}", views.DeviceView, "device"),
    route("v1/loads", views.LoadView, "loads"),
    route(f"v1/loads/{LOAD}", views.LoadView, "load"),
    route(f"v1/devices/{DEVICE}/loads", views.LoadView, "device-loads"),
    route("v1/signals", views.SignalView, "signals"),
    route(f"v1/signals/{SIGNAL}", views.SignalView, "signal"),
    route(f"v1/loads/{LOAD}/signals", views.SignalView, "load-signals"),
    route(f"v1/devices/{DEVICE}/signals", views.SignalView, "device-signals"),
    route("v1/realtime", views.RealtimeView, "realtime"),
    route(f"v1/loads/{LOAD}/realtime", views.RealtimeView, "load-realtime"),
    route(f"v1/devices/{DEVICE}/realtime", views.RealtimeView, "device-realtime"),
    route("v1/history/last", views.HistoryLastView, "history-last"),
    route(f"v1/loads/{LOAD}/history/last", views.HistoryLastView, "load-history-last"),
    route(f"v1/devices/{DEVICE}/history/last", views.HistoryLastView, "device-history-last"),
    route("v1/history", views.HistoryView, "history"),
    route(f"v1/loads/{LOAD}/history", views.HistoryView, "load-history"),
    route(f"v1/devices/{DEVICE}/history", views.HistoryView, "device-history"),
    route(f"v1/signals/{SIGNAL}/history", views.SignalHistoryView, "signal-history"),
    re_path(r"^v1/.*$", views.UnknownPathView.as_view(), name="gavazzi-unknown"),
]
