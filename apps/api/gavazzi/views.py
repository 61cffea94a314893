"""Carlo Gavazzi EMS gateway dialect (API.md §4). Viewsets parse, call selectors, render.

The devices, loads and signals are collections a router serves (`list`, `retrieve`), with the
reads of their signals as sub-resources (`@action`: `/v1/devices/{uid}/realtime`, ...); the
organization-wide reads (`/v1/realtime`, `/v1/history`, `/v1/history/last`) are collections of
their own. Every read of signals is one method of the base, whatever the scope of its path."""

from typing import ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from apps.access.logins import account_for_username, login_throttle_key
from apps.access.models import Dialect
from apps.access.services import password_login
from apps.access.tokens import jwt_issue
from apps.api.common import views as common
from apps.api.common.errors import Unauthorized
from apps.api.common.login_failures import login_failures
from apps.api.common.views import PublicViewSet, TenantViewSet
from apps.core import time as clock
from apps.core.clients import client_address
from apps.core.exceptions import Invalid, NotFound
from apps.inventory import selectors
from apps.timeseries import query
from apps.timeseries.selectors import rollup_page, series_current

from . import openapi, render
from .authentication import API_PERMISSION, GavazziAuthentication
from .errors import exception_handler
from .filters import (
    DeviceFilter,
    HistoryFilter,
    LoadFilter,
    SignalFilter,
    SignalHistoryFilter,
)
from .openapi import TokenSerializer
from .serializers import LoginSerializer

TAGS = ["EMS gateway"]
# The reads of the signals of a device or a load (`/v1/devices/{uid}/realtime`, ...).
SCOPED_READS = {
    "signals": SignalFilter,
    "realtime": SignalFilter,
    "history_last": SignalFilter,
    "history": HistoryFilter,
}


def documented(docs: tuple[str, str], response, **kwargs):
    """The schema of a read: its summary and description (openapi.py), its 200 body, the errors."""
    summary, description = docs
    return extend_schema(
        tags=TAGS,
        summary=summary,
        description=description,
        responses={200: response, **openapi.ERRORS},
        **kwargs,
    )


def _parse_uid(raw: str, kind: str) -> int:
    """A path uid; anything but an integer names no object (404, in the EMS error shape). ASCII
    digits only: `str.isdigit` also holds for "³" and other digits `int` refuses."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"{kind} {raw} not found.", field="uid")
    return int(raw)


class VersionViewSet(PublicViewSet):
    exception_handler = staticmethod(exception_handler)
    statement_timeout = False  # no query to limit

    @extend_schema(
        tags=TAGS,
        summary="API version",
        description=openapi.VERSION_DESCRIPTION,
        auth=[],
        responses={200: openapi.VersionSerializer},
    )
    def retrieve(self, request):
        return Response({"api_ver": 1})


class LoginViewSet(PublicViewSet):
    """Username and password of an API-role user give a JWT valid 30 minutes (no refresh).

    Failed logins count per (account, client address); at 10 within a minute that pair is
    answered 429 for the rest of the minute, even with the right password, so the limit does
    slow a guesser. Successful logins never count, and a user at another address is unaffected.
    """

    exception_handler = staticmethod(exception_handler)

    @extend_schema(
        tags=TAGS,
        summary="Log in",
        description=openapi.LOGIN_DESCRIPTION,
        auth=[],
        request=LoginSerializer,
        responses={200: TokenSerializer, **openapi.LOGIN_ERRORS},
    )
    def create(self, request):
        serializer = LoginSerializer(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            raise Invalid(f"'{field}': {errors[0]}", field=field)
        username, password = serializer.validated_data["username"], serializer.validated_data["password"]
        who = login_throttle_key(username=username, account=account_for_username(username))
        throttle_key = (Dialect.GAVAZZI, who, client_address(request))
        if login_failures.blocked(*throttle_key):
            raise Throttled(wait=login_failures.window_seconds)
        login = password_login(
            username=username, password=password, permission=API_PERMISSION, request=request
        )
        if login is None:
            login_failures.record_failure(*throttle_key)
            raise Unauthorized("Wrong username or password, or no API role.")
        user, organization = login
        token = jwt_issue(
            dialect=Dialect.GAVAZZI,
            organization=organization,
            user=user,
            lifetime_seconds=settings.EMS_LOGIN_TOKEN_LIFETIME_SECONDS,
        )
        return Response({"token": token})


class GavazziViewSet(TenantViewSet):
    """The reads of the dialect. The path's device, load or signal (its uid a string, parsed
    here so that a bad one is the dialect's 404) is the scope of the read; the query parameters
    come first, then the scope, as the vendor's gateway checks them."""

    authentication_classes: ClassVar = [GavazziAuthentication]
    exception_handler = staticmethod(exception_handler)
    lookup_value_regex = "[^/]+"

    def scope(self) -> dict:
        """The device or load named in the path ({} for the unscoped paths)."""
        kwargs = self.kwargs
        if "device_uid" in kwargs:
            uid = _parse_uid(kwargs["device_uid"], "Device")
            return {"device": selectors.device_get(organization=self.organization, uid=uid)}
        if "load_uid" in kwargs:
            uid = _parse_uid(kwargs["load_uid"], "Load")
            return {"load": selectors.load_get(organization=self.organization, uid=uid)}
        return {}

    @staticmethod
    def paging(params: dict) -> tuple[int, int]:
        return (params["page"] - 1) * params["limit"], params["limit"]

    def scoped_signals(self, uids: list[int] | None):
        """The signals of the path's scope filtered by `uids`: the one signal of a signal path
        too, by the rule of the device and load paths (`uids` filters within the scope)."""
        if "signal_uid" in self.kwargs:
            uid = _parse_uid(self.kwargs["signal_uid"], "Signal")
            signal = selectors.signal_get(organization=self.organization, uid=uid)
            return [signal] if uids is None or signal.uid in uids else []
        return selectors.signal_list(organization=self.organization, uids=uids, **self.scope())

    def loads_response(self) -> Response:
        params = self.query()
        uids, protocol = params["uids"], params["protocol"]
        scope = self.scope()
        if "load" in scope:
            load = scope["load"]
            loads = (
                [load]
                if (uids is None or load.uid in uids) and protocol in (None, load.device.protocol)
                else []
            )
        else:
            loads = selectors.load_list(organization=self.organization, uids=uids, protocol=protocol, **scope)
        return Response({"loads": render.keyed(loads, render.load)})

    def signals_response(self) -> Response:
        params = self.query()
        offset, limit = self.paging(params)
        signals = self.scoped_signals(params["uids"])[offset : offset + limit]
        return Response({"signals": render.keyed(signals, render.signal)})

    def realtime_response(self) -> Response:
        params = self.query()
        offset, limit = self.paging(params)
        now_ms, staleness_ms = clock.now_ms(), self.organization.effective_realtime_staleness_seconds * 1000
        signals = self.scoped_signals(params["uids"]).annotate(**series_current(now_ms=now_ms, via="series"))
        rows = signals.values_list(*render.REALTIME_FIELDS)[offset : offset + limit]
        body = {str(row[0]): render.realtime(row, now_ms=now_ms, staleness_ms=staleness_ms) for row in rows}
        return Response({"realtime": body})

    def history_response(self, *, bare: bool = False) -> Response:
        """Per-period rollups of each signal in the scope; `limit` and `page` count records per
        signal. `bare`: the one signal's records, not keyed."""
        params = self.query()
        offset, limit = self.paging(params)
        signals = list(self.scoped_signals(params.get("uids")))
        rollups = rollup_page(
            series=[s.series for s in signals if s.series_id is not None],
            start_ms=params["start"],
            end_ms=params["end"],
            period_ms=settings.EMS_HISTORY_PERIOD_SECONDS * 1000,
            offset=offset,
            limit=limit,
        )
        history = {
            str(s.uid): [render.history_record(s.uid, r) for r in rollups.get(s.series_id, [])]
            for s in signals
        }
        if bare:
            return Response(next(iter(history.values())))
        return Response({"history": history})

    def history_last_response(self) -> Response:
        """The latest record of each signal; `limit` and `page` count signals."""
        params = self.query()
        offset, limit = self.paging(params)
        signals = list(self.scoped_signals(params["uids"])[offset : offset + limit])
        latest = query.rollups_latest(
            series_ids=sorted({s.series_id for s in signals if s.series_id is not None}),
            period_ms=settings.EMS_HISTORY_PERIOD_SECONDS * 1000,
        )
        history = {
            str(s.uid): render.history_record(s.uid, latest[s.series_id])
            for s in signals
            if s.series_id in latest
        }
        return Response({"history": history})


class GatewayViewSet(GavazziViewSet):
    """The organization's gateway: `/v1/sn` and `/v1/mac`."""

    @extend_schema(
        tags=TAGS,
        summary="Gateway serial number",
        description=openapi.SN_DESCRIPTION,
        responses={200: openapi.SerialNumberSerializer, **openapi.ERRORS},
    )
    def serial_number(self, request):
        return Response({"sn": self.organization.sn})

    @extend_schema(
        tags=TAGS,
        summary="Gateway MAC address",
        description=openapi.MAC_DESCRIPTION,
        responses={200: openapi.MacSerializer, **openapi.ERRORS},
    )
    def mac(self, request):
        return Response({"mac": self.organization.mac})


# Device, load and signal viewsets repeat the same few-line actions on purpose: each path of the
# vendor's is its own operation, with its own summary and description in the schema
# (openapi.*_DOCS keyed by the path's scope), and a router derives a path only from an action of
# the viewset; the work is done once, in GavazziViewSet's *_response methods.
class DeviceViewSet(GavazziViewSet):
    lookup_url_kwarg = "device_uid"
    filtersets: ClassVar = {
        **SCOPED_READS,
        "list": DeviceFilter,
        "retrieve": DeviceFilter,
        "loads": LoadFilter,
    }

    @documented(openapi.DEVICE_DOCS[None], openapi.DEVICES)
    def list(self, request):
        params = self.query()
        devices = selectors.device_list(
            organization=self.organization, uids=params["uids"], protocol=params["protocol"]
        )
        return Response({"devices": render.keyed(devices, render.device)})

    @documented(openapi.DEVICE_DOCS["device_uid"], openapi.DEVICES)
    def retrieve(self, request, device_uid: str):
        params = self.query()
        uids, protocol = params["uids"], params["protocol"]
        device = selectors.device_get(organization=self.organization, uid=_parse_uid(device_uid, "Device"))
        keep = (uids is None or device.uid in uids) and protocol in (None, device.protocol)
        return Response({"devices": render.keyed([device] if keep else [], render.device)})

    @documented(openapi.LOAD_DOCS["device_uid"], openapi.LOADS)
    @action(detail=True)
    def loads(self, request, device_uid: str):
        return self.loads_response()

    @documented(openapi.SIGNAL_DOCS["device_uid"], openapi.SIGNALS)
    @action(detail=True)
    def signals(self, request, device_uid: str):
        return self.signals_response()

    @documented(openapi.REALTIME_DOCS["device_uid"], openapi.REALTIME)
    @action(detail=True)
    def realtime(self, request, device_uid: str):
        return self.realtime_response()

    @documented(openapi.HISTORY_LAST_DOCS["device_uid"], openapi.HISTORY_LAST)
    @action(detail=True, url_path="history/last")
    def history_last(self, request, device_uid: str):
        return self.history_last_response()

    @documented(openapi.HISTORY_DOCS["device_uid"], openapi.HISTORY)
    @action(detail=True)
    def history(self, request, device_uid: str):
        return self.history_response()


class LoadViewSet(GavazziViewSet):
    lookup_url_kwarg = "load_uid"
    filtersets: ClassVar = {**SCOPED_READS, "list": LoadFilter, "retrieve": LoadFilter}

    @documented(openapi.LOAD_DOCS[None], openapi.LOADS)
    def list(self, request):
        return self.loads_response()

    @documented(openapi.LOAD_DOCS["load_uid"], openapi.LOADS)
    def retrieve(self, request, load_uid: str):
        return self.loads_response()

    @documented(openapi.SIGNAL_DOCS["load_uid"], openapi.SIGNALS)
    @action(detail=True)
    def signals(self, request, load_uid: str):
        return self.signals_response()

    @documented(openapi.REALTIME_DOCS["load_uid"], openapi.REALTIME)
    @action(detail=True)
    def realtime(self, request, load_uid: str):
        return self.realtime_response()

    @documented(openapi.HISTORY_LAST_DOCS["load_uid"], openapi.HISTORY_LAST)
    @action(detail=True, url_path="history/last")
    def history_last(self, request, load_uid: str):
        return self.history_last_response()

    @documented(openapi.HISTORY_DOCS["load_uid"], openapi.HISTORY)
    @action(detail=True)
    def history(self, request, load_uid: str):
        return self.history_response()


class SignalViewSet(GavazziViewSet):
    lookup_url_kwarg = "signal_uid"
    filtersets: ClassVar = {"list": SignalFilter, "retrieve": SignalFilter, "history": SignalHistoryFilter}

    @documented(openapi.SIGNAL_DOCS[None], openapi.SIGNALS)
    def list(self, request):
        return self.signals_response()

    @documented(openapi.SIGNAL_DOCS["signal_uid"], openapi.SIGNALS)
    def retrieve(self, request, signal_uid: str):
        return self.signals_response()

    @documented(
        ("History rollups of one signal (a bare array)", openapi.SIGNAL_HISTORY_DESCRIPTION),
        openapi.HistoryRecordSerializer(many=True),
    )
    @action(detail=True)
    def history(self, request, signal_uid: str):
        """The only history read answering a bare array; it takes no `uids`."""
        return self.history_response(bare=True)


class RealtimeViewSet(GavazziViewSet):
    filtersets: ClassVar = {"list": SignalFilter}

    @documented(openapi.REALTIME_DOCS[None], openapi.REALTIME)
    def list(self, request):
        return self.realtime_response()


class HistoryViewSet(GavazziViewSet):
    filtersets: ClassVar = {"list": HistoryFilter, "last": SignalFilter}

    @documented(openapi.HISTORY_DOCS[None], openapi.HISTORY)
    def list(self, request):
        return self.history_response()

    @documented(openapi.HISTORY_LAST_DOCS[None], openapi.HISTORY_LAST)
    @action(detail=False)
    def last(self, request):
        return self.history_last_response()


class UnknownPathViewSet(common.UnknownPathViewSet):
    """Any other GET under /v1/: a 404 in the gateway's error shape."""

    exception_handler = staticmethod(exception_handler)
