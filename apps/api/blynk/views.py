"""Blynk Platform API dialect, datastream endpoints (API.md §2). Views check permissions, parse,
call selectors and services, render."""

from typing import ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.api.common import views as common
from apps.api.common.views import TenantViewSet
from apps.core.exceptions import Invalid, NotFound
from apps.inventory import selectors, services
from apps.inventory.batch_update import product_batch_update
from apps.inventory.models import DataStream, Device
from apps.timeseries import query
from apps.timeseries.selectors import samples_total

from . import batch_rows, openapi, render
from .authentication import BlynkAuthentication
from .errors import DATASTREAM_NOT_FOUND, DEVICE_NOT_FOUND, exception_handler
from .filters import BatchDataStreamValuesFilter, DataStreamValuesFilter, HistoryFilter
from .parsing import BlynkJSONParser, batch_update_body, body_field, body_id, body_object, import_points
from .permissions import ORG_DEVICE_DATA_IMPORT, ORG_DEVICES_CONTROL, device_owner_scope
from .widget_properties import WIDGET_PROPERTIES, widget_property_value

BODY_LIMIT = 4 * 1024 * 1024
MAX_IMPORT_VALUES = 10_000
MAX_BATCH_ROWS = 10_000
TAGS = ["Blynk"]


class DataStreamViewSet(TenantViewSet):
    """Every datastream endpoint of the dialect, one action each; the paths are the vendor's
    fixed RPC-style ones (urls.py maps each to its action). Every action checks the caller's
    permissions (`scope`) before anything about its devices is looked up."""

    authentication_classes: ClassVar = [BlynkAuthentication]
    parser_classes: ClassVar = [BlynkJSONParser]
    exception_handler = staticmethod(exception_handler)
    body_limit = BODY_LIMIT
    filtersets: ClassVar = {
        "values": DataStreamValuesFilter,
        "batch_values": BatchDataStreamValuesFilter,
        "history": HistoryFilter,
    }

    def scope(self, *required: str):
        """Check the permissions (403), return the owner the caller's devices are limited to."""
        return device_owner_scope(self.principal, *required)

    def device(self, uid: int, owner) -> Device:
        device = selectors.device_find(organization=self.organization, uid=uid, owner=owner)
        if device is None:
            raise NotFound(DEVICE_NOT_FOUND.format(uid), field="deviceId")
        return device

    def datastream(
        self, device: Device, *, stream_id: int | None = None, pin: str | None = None
    ) -> DataStream:
        stream = selectors.datastream_find(device=device, stream_id=stream_id, pin=pin)
        if stream is None:
            raise NotFound(
                DATASTREAM_NOT_FOUND.format(stream_id if stream_id is not None else pin), field="dataStreamId"
            )
        return stream

    @extend_schema(
        tags=TAGS,
        summary="Get device datastream values",
        description=openapi.VALUES_DESCRIPTION,
        responses={200: openapi.BlynkDataStreamValueSerializer(many=True), **openapi.ERRORS},
    )
    def values(self, request):
        owner = self.scope()
        params = self.query()
        device = self.device(params["deviceId"], owner)
        streams = selectors.datastream_list(devices=[device], stream_ids=params["dataStreamIds"])
        return Response([render.datastream_value(stream) for stream in streams])

    @extend_schema(
        tags=TAGS,
        summary="Get datastreams values for multiple devices",
        description=openapi.BATCH_VALUES_DESCRIPTION,
        responses={200: openapi.BlynkDeviceDataStreamsSerializer(many=True), **openapi.ERRORS},
    )
    def batch_values(self, request):
        """Up to 10 devices (distinct ids); missing and invisible ones are left out, in request
        order."""
        owner = self.scope()
        params = self.query()
        uids, stream_ids = params["deviceIds"], params["dataStreamIds"]
        devices = selectors.device_find_many(organization=self.organization, uids=uids, owner=owner)
        found = [devices[uid] for uid in uids if uid in devices]
        streams: dict[int, list[dict]] = {device.pk: [] for device in found}
        for stream in selectors.datastream_list(devices=found, stream_ids=stream_ids) if found else []:
            streams[stream.device_id].append(render.datastream_value(stream))
        return Response([{"deviceId": device.uid, "dataStreams": streams[device.pk]} for device in found])

    @extend_schema(
        tags=TAGS,
        summary="Get datastream history",
        description=openapi.HISTORY_DESCRIPTION,
        responses={200: openapi.BlynkHistorySerializer, **openapi.ERRORS},
    )
    def history(self, request):
        """Samples of a numeric datastream in [from, to] (both inclusive), oldest first, 0-based
        pages: one count (cached until the series changes) and one page query on the sample
        table's primary key."""
        owner = self.scope()
        params = self.query()
        stream_id, pin = params["dataStreamId"], params["pin"]
        start, end, page, size = params["from"], params["to"], params["page"], params["size"]
        device = self.device(params["deviceId"], owner)
        stream = self.datastream(device, stream_id=stream_id, pin=None if stream_id is not None else pin)
        services.datastream_require_history(datastream=stream)
        if stream.series_id is None:
            return Response(render.history(0, [], stream.value_type))
        total = samples_total(series=stream.series, start_ms=start, end_ms=end + 1)
        rows = query.samples_page(
            series_id=stream.series_id,
            start_ms=start,
            end_ms=end + 1,
            offset=page * size,
            limit=size,
            total=total,
        )
        return Response(render.history(total, rows, stream.value_type))

    @extend_schema(
        tags=TAGS,
        summary="Update single datastream value",
        description=openapi.VALUE_DESCRIPTION,
        request=openapi.BlynkValueUpdateSerializer,
        responses={204: None, **openapi.ERRORS},
    )
    def set_value(self, request):
        owner = self.scope(ORG_DEVICES_CONTROL)
        data = body_object(request)
        uid, stream_id = body_id(data, "deviceId"), body_id(data, "dataStreamId")
        if data.get("value") is None:
            raise Invalid("'value' is required.", field="value")
        stream = self.datastream(self.device(uid, owner), stream_id=stream_id)
        services.datastream_value_set(datastream=stream, value=data["value"])
        return Response(status=204)

    @extend_schema(
        tags=TAGS,
        summary="Update multiple datastream values",
        description=openapi.VALUES_UPDATE_DESCRIPTION,
        request=openapi.BlynkValuesUpdateSerializer,
        responses={204: None, **openapi.ERRORS},
    )
    def set_values(self, request):
        owner = self.scope(ORG_DEVICES_CONTROL)
        data = body_object(request)
        uid = body_id(data, "deviceId")
        values = body_field(data, "values", dict, "an object of dataStreamId to value")
        device = self.device(uid, owner)
        # Keys that are not datastream ids name no datastream: skipped silently, like unknown ids.
        by_id = {
            int(key): value
            for key, value in values.items()
            if key.isascii() and key.isdigit() and len(key) <= 10
        }
        services.datastream_values_set(device=device, values=by_id)
        return Response(status=204)

    @extend_schema(
        tags=TAGS,
        summary="Batch update datastream values for multiple devices",
        description=openapi.BATCH_UPDATE_DESCRIPTION,
        request=openapi.BlynkBatchUpdateSerializer,
        responses={204: None, 200: openapi.BlynkBatchUpdateResultSerializer, **openapi.ERRORS},
    )
    def batch_update(self, request):
        owner = self.scope(ORG_DEVICES_CONTROL)
        body = batch_update_body(body_object(request), max_rows=MAX_BATCH_ROWS)
        rows, misshapen = batch_rows.rows_read(body.rows, len(body.labels) + 1)
        try:
            result = product_batch_update(
                organization=self.organization, labels=body.labels, rows=rows, owner=owner
            )
        except Invalid as exc:
            if exc.field != "rows":
                raise
            raise Invalid(
                "'updates' holds no row with a valid device to take the product from.", field="updates"
            ) from exc
        skipped = batch_rows.rows_skipped(misshapen, result)
        if not skipped:
            return Response(status=204)
        return Response(render.batch_update(skipped, debug=body.debug))

    @extend_schema(
        tags=TAGS,
        summary="Import batch data",
        description=openapi.IMPORT_DESCRIPTION,
        request=openapi.BlynkImportSerializer,
        responses={204: None, **openapi.ERRORS},
    )
    def import_history(self, request):
        owner = self.scope(ORG_DEVICE_DATA_IMPORT)
        data = body_object(request)
        uid, stream_id = body_id(data, "deviceId"), body_id(data, "dataStreamId")
        items = body_field(data, "values", list, 'a list of {"value", "ts"} objects')
        if not items:
            raise Invalid("'values' must hold at least one value.", field="values")
        if len(items) > MAX_IMPORT_VALUES:
            raise Invalid(f"'values' may hold at most {MAX_IMPORT_VALUES} values.", field="values")
        stream = self.datastream(self.device(uid, owner), stream_id=stream_id)
        services.datastream_require_history(datastream=stream)
        stamps, values = import_points(items)
        services.datastream_history_import(
            datastream=stream, ts=stamps, values=values, window_days=settings.BLYNK_IMPORT_WINDOW_DAYS
        )
        return Response(status=204)

    @extend_schema(
        tags=TAGS,
        summary="Update datastream widget property",
        description=openapi.PROPERTY_DESCRIPTION,
        request=openapi.BlynkPropertySerializer,
        responses={204: None, **openapi.ERRORS},
    )
    def set_property(self, request):
        owner = self.scope(ORG_DEVICES_CONTROL)
        data = body_object(request)
        uid, stream_id = body_id(data, "deviceId"), body_id(data, "dataStreamId")
        name = body_field(data, "property", str, f"one of {', '.join(WIDGET_PROPERTIES)}")
        value = body_field(data, "value", str, "a string")
        stream = self.datastream(self.device(uid, owner), stream_id=stream_id)
        stored = widget_property_value(name, value)
        services.datastream_property_set(datastream=stream, name=name, value=stored)
        return Response(status=204)


class UnknownPathViewSet(common.UnknownPathViewSet):
    """Any other /api/v1|v2/organization/ path: a 404 in the Blynk error shape, for every method
    (a body up to the datastream endpoints' limit is answered 404, not 413)."""

    exception_handler = staticmethod(exception_handler)
    body_limit = BODY_LIMIT
