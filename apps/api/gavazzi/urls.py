"""Every path of the EMS gateway dialect (API.md §4), in one module. The vendor lost its paths
but `/ver` and `/v1/auth/login`; the rest are this project's decision. Uids in paths are taken
as strings and parsed by the viewsets, so a bad one answers in the EMS error shape.

The router serves, without a trailing slash:

    v1/devices, v1/devices/{device_uid}, v1/devices/{device_uid}/loads, .../signals,
        .../realtime, .../history, .../history/last
    v1/loads, v1/loads/{load_uid}, v1/loads/{load_uid}/signals, .../realtime, .../history,
        .../history/last
    v1/signals, v1/signals/{signal_uid}, v1/signals/{signal_uid}/history
    v1/realtime, v1/history, v1/history/last
"""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("v1/devices", views.DeviceViewSet, basename="gavazzi-device")
router.register("v1/loads", views.LoadViewSet, basename="gavazzi-load")
router.register("v1/signals", views.SignalViewSet, basename="gavazzi-signal")
router.register("v1/realtime", views.RealtimeViewSet, basename="gavazzi-realtime")
router.register("v1/history", views.HistoryViewSet, basename="gavazzi-history")

urlpatterns = [
    path("ver", views.VersionViewSet.as_view({"get": "retrieve"}), name="gavazzi-version"),
    path("v1/auth/login", views.LoginViewSet.as_view({"post": "create"}), name="gavazzi-login"),
    path("v1/sn", views.GatewayViewSet.as_view({"get": "serial_number"}), name="gavazzi-sn"),
    path("v1/mac", views.GatewayViewSet.as_view({"get": "mac"}), name="gavazzi-mac"),
    *router.urls,
    re_path(r"^v1/.*$", views.UnknownPathViewSet.as_view({"get": "unknown"}), name="gavazzi-unknown"),
]
