"""Carlo Gavazzi EMS gateway dialect (API.md §4). Views parse, call selectors, render."""

import time
from typing import ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.logins import account_for_username, login_throttle_key
from apps.access.models import Dialect
from apps.access.services import password_login
from apps.access.tokens import jwt_issue
from apps.api.common.errors import Unauthorized
from apps.api.common.legacy_views import HTTP_METHOD_NAMES, DialectView
from apps.api.common.params import choice_param, int_list, int_param
from apps.api.common.throttling import client_address, login_failures
from apps.core.exceptions import Invalid, NotFound
from apps.inventory import selectors
from apps.timeseries import query
from apps.timeseries.selectors import rollup_page, series_current

from . import render
from .authentication import API_PERMISSION, GavazziAuthentication
from .errors import exception_handler
from .schema import (
    DEVICE_DOCS,
    DEVICES,
    END,
    ERRORS,
    HISTORY,
    HISTORY_DOCS,
    HISTORY_LAST,
    HISTORY_LAST_DOCS,
    LIMIT,
    LOAD_DOCS,
    LOADS,
    LOGIN_DESCRIPTION,
    LOGIN_ERRORS,
    MAC_DESCRIPTION,
    PAGE,
    PROTOCOL,
    PROTOCOLS,
    REALTIME,
    REALTIME_DOCS,
    SIGNAL_DOCS,
    SIGNAL_HISTORY_DESCRIPTION,
    SIGNALS,
    SN_DESCRIPTION,
    START,
    UIDS,
    VERSION_DESCRIPTION,
    HistoryRecordSerializer,
    LoginSerializer,
    MacSerializer,
    SerialNumberSerializer,
    TokenSerializer,
    VersionSerializer,
)

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
DAY_MS = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _parse_uid(raw: str, kind: str) -> int:
    """A path uid; anything but an integer names no object (404, in the EMS error shape). ASCII
    digits only: `str.isdigit` also holds for "³" and other digits `int` refuses."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"{kind} {raw} not found.", field="uid")
    return int(raw)


class GavazziView(DialectView):
    authentication_classes: ClassVar = [GavazziAuthentication]
    exception_handler = staticmethod(exception_handler)
    # Every signal-reading path takes `uids` but the one-signal history, a bare array (API.md §4).
    takes_uids: ClassVar[bool] = True

    def scope(self) -> dict:
        """The device, load or signal named in the path ({} for the unscoped paths)."""
        kwargs = self.kwargs
        if "device_uid" in kwargs:
            uid = _parse_uid(kwargs["device_uid"], "Device")
            return {"device": selectors.device_get(organization=self.organization, uid=uid)}
        if "load_uid" in kwargs:
            uid = _parse_uid(kwargs["load_uid"], "Load")
            return {"load": selectors.load_get(organization=self.organization, uid=uid)}
        return {}

    def paging(self) -> tuple[int, int]:
        params = self.request.query_params
        limit = int_param(params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        page = int_param(params, "page", default=1, minimum=1, maximum=10**9)
        return (page - 1) * limit, limit

    def signals(self):
        """The signals of the path's scope filtered by `uids`: the one signal of a signal path
        too, by the rule of the device and load paths (`uids` filters within the scope)."""
        uids = int_list(self.request.query_params, "uids") if self.takes_uids else None
        if "signal_uid" in self.kwargs:
            uid = _parse_uid(self.kwargs["signal_uid"], "Signal")
            signal = selectors.signal_get(organization=self.organization, uid=uid)
            return [signal] if uids is None or signal.uid in uids else []
        return selectors.signal_list(organization=self.organization, uids=uids, **self.scope())


class VersionView(APIView):
    authentication_classes: ClassVar = []
    permission_classes: ClassVar = [AllowAny]
    http_method_names: ClassVar = HTTP_METHOD_NAMES
    metadata_class = None

    def get_exception_handler(self):
        return exception_handler

    @extend_schema(
        tags=["EMS gateway"],
        summary="API version",
        description=VERSION_DESCRIPTION,
        auth=[],
        responses={200: VersionSerializer},
    )
    def get(self, request):
        return Response({"api_ver": 1})


class LoginView(GavazziView):
    """Username and password of an API-role user give a JWT valid 30 minutes (no refresh).

    Failed logins count per (account, client address); at 10 within a minute that pair is
    answered 429 for the rest of the minute, even with the right password, so the limit does
    slow a guesser. Successful logins never count, and a user at another address is unaffected.
    """

    authentication_classes: ClassVar = []
    permission_classes: ClassVar = [AllowAny]

    @extend_schema(
        tags=["EMS gateway"],
        summary="Log in",
        description=LOGIN_DESCRIPTION,
        auth=[],
        request=LoginSerializer,
        responses={200: TokenSerializer, **LOGIN_ERRORS},
    )
    def post(self, request):
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


class SerialNumberView(GavazziView):
    @extend_schema(
        tags=["EMS gateway"],
        summary="Gateway serial number",
        description=SN_DESCRIPTION,
        responses={200: SerialNumberSerializer, **ERRORS},
    )
    def get(self, request):
        return Response({"sn": self.organization.sn})


class MacView(GavazziView):
    @extend_schema(
        tags=["EMS gateway"],
        summary="Gateway MAC address",
        description=MAC_DESCRIPTION,
        responses={200: MacSerializer, **ERRORS},
    )
    def get(self, request):
        return Response({"mac": self.organization.mac})


class DeviceView(GavazziView):
    path_docs = DEVICE_DOCS

    @extend_schema(
        tags=["EMS gateway"],
        parameters=[UIDS, PROTOCOL],
        responses={200: DEVICES, **ERRORS},
    )
    def get(self, request, device_uid=None):
        params = request.query_params
        uids, protocol = int_list(params, "uids"), choice_param(params, "protocol", PROTOCOLS)
        if device_uid is not None:
            devices = [
                selectors.device_get(organization=self.organization, uid=_parse_uid(device_uid, "Device"))
            ]
            devices = [
                d for d in devices if (uids is None or d.uid in uids) and protocol in (None, d.protocol)
            ]
        else:
            devices = selectors.device_list(organization=self.organization, uids=uids, protocol=protocol)
        return Response({"devices": render.keyed(devices, render.device)})


class LoadView(GavazziView):
    path_docs = LOAD_DOCS

    @extend_schema(tags=["EMS gateway"], parameters=[UIDS, PROTOCOL], responses={200: LOADS, **ERRORS})
    def get(self, request, device_uid=None, load_uid=None):
        params = request.query_params
        uids, protocol = int_list(params, "uids"), choice_param(params, "protocol", PROTOCOLS)
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


class SignalView(GavazziView):
    path_docs = SIGNAL_DOCS

    @extend_schema(
        tags=["EMS gateway"],
        parameters=[UIDS, LIMIT, PAGE],
        responses={200: SIGNALS, **ERRORS},
    )
    def get(self, request, **kwargs):
        offset, limit = self.paging()
        signals = self.signals()[offset : offset + limit]
        return Response({"signals": render.keyed(signals, render.signal)})


class RealtimeView(GavazziView):
    path_docs = REALTIME_DOCS

    @extend_schema(
        tags=["EMS gateway"],
        parameters=[UIDS, LIMIT, PAGE],
        responses={200: REALTIME, **ERRORS},
    )
    def get(self, request, **kwargs):
        offset, limit = self.paging()
        now_ms, staleness_ms = _now_ms(), self.organization.effective_realtime_staleness_seconds * 1000
        signals = self.signals().annotate(**series_current(now_ms=now_ms, via="series"))
        rows = signals.values_list(*render.REALTIME_FIELDS)[offset : offset + limit]
        body = {str(row[0]): render.realtime(row, now_ms=now_ms, staleness_ms=staleness_ms) for row in rows}
        return Response({"realtime": body})


class HistoryView(GavazziView):
    """Per-period rollups of each signal in the scope; `limit` and `page` count records per signal."""

    bare: ClassVar[bool] = False
    path_docs = HISTORY_DOCS

    def window(self) -> tuple[int, int]:
        params = self.request.query_params
        end = int_param(params, "end", default=None, minimum=0)
        start = int_param(params, "start", default=None, minimum=0)
        if end is None:
            end = _now_ms()
        if start is None:
            start = end - DAY_MS
        if start >= end:
            raise Invalid("'start' must be before 'end'.", field="start")
        return start, end

    @extend_schema(
        tags=["EMS gateway"],
        parameters=[UIDS, START, END, LIMIT, PAGE],
        responses={200: HISTORY, **ERRORS},
    )
    def get(self, request, **kwargs):
        start, end = self.window()
        offset, limit = self.paging()
        signals = list(self.signals())
        rollups = rollup_page(
            series=[s.series for s in signals if s.series_id is not None],
            start_ms=start,
            end_ms=end,
            period_ms=settings.EMS_HISTORY_PERIOD_SECONDS * 1000,
            offset=offset,
            limit=limit,
        )
        history = {
            str(s.uid): [render.history_record(s.uid, r) for r in rollups.get(s.series_id, [])]
            for s in signals
        }
        if self.bare:
            return Response(next(iter(history.values())))
        return Response({"history": history})


class SignalHistoryView(HistoryView):
    bare = True
    path_docs = None
    takes_uids = False

    @extend_schema(
        tags=["EMS gateway"],
        summary="History rollups of one signal (a bare array)",
        description=SIGNAL_HISTORY_DESCRIPTION,
        parameters=[START, END, LIMIT, PAGE],
        responses={200: HistoryRecordSerializer(many=True), **ERRORS},
    )
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)


class HistoryLastView(GavazziView):
    """The latest record of each signal; `limit` and `page` count signals."""

    path_docs = HISTORY_LAST_DOCS

    @extend_schema(
        tags=["EMS gateway"],
        parameters=[UIDS, LIMIT, PAGE],
        responses={200: HISTORY_LAST, **ERRORS},
    )
    def get(self, request, **kwargs):
        offset, limit = self.paging()
        signals = list(self.signals()[offset : offset + limit])
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


class UnknownPathView(GavazziView):
    authentication_classes: ClassVar = []
    permission_classes: ClassVar = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, **kwargs):
        raise NotFound("No such endpoint.")
