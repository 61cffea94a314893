"""Admin for the device configuration: products, devices with their loads and datastreams, loads
with their signals, partitions with their points. Signals, datastreams and points show the chart
of their series. The devices' changelist has the bulk configuration from CSV (admin_config.py)."""

from django.contrib import admin
from django.db.models import Count

from apps.tenancy.admin_scoping import OrganizationOwnedAdmin, OrganizationOwnedInline
from apps.timeseries.admin import SeriesChartAdminMixin

from .admin_config import ConfigImportAdminMixin
from .models import DataStream, Device, DeviceImportDay, Load, Partition, Point, Product, Signal


class LoadInline(OrganizationOwnedInline):
    model = Load
    fields = ("uid", "label", "enable", "index", "type")


class DataStreamInline(OrganizationOwnedInline):
    model = DataStream
    fields = ("stream_id", "pin", "label", "alias", "value_type", "series")
    raw_id_fields = ("series",)


class SignalInline(OrganizationOwnedInline):
    model = Signal
    fields = ("uid", "si", "sir", "enable", "unit", "series")
    raw_id_fields = ("series",)


class PointInline(OrganizationOwnedInline):
    model = Point
    fields = ("name", "uuid", "unit", "series")
    raw_id_fields = ("series",)


class DeviceImportDayInline(admin.TabularInline):
    """The device's Blynk history-import quota use, newest day first (read-only: the quota
    service keeps the counts)."""

    model = DeviceImportDay
    fields = ("day", "points")
    readonly_fields = ("day", "points")
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "history import quota use (UTC days)"


@admin.register(Product)
class ProductAdmin(OrganizationOwnedAdmin):
    list_display = ("name", "organization", "parent", "device_count")
    list_select_related = ("organization", "parent")
    search_fields = ("name", "organization__name", "organization__slug")
    list_filter = ("organization",)
    readonly_fields = ("id",)
    raw_id_fields = ("parent",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(device_count=Count("devices"))

    @admin.display(description="devices", ordering="device_count")
    def device_count(self, obj):
        return obj.device_count


@admin.register(Device)
class DeviceAdmin(ConfigImportAdminMixin, OrganizationOwnedAdmin):
    list_display = (
        *("uid", "label", "organization", "site", "part_number", "system", "protocol", "product", "owner"),
    )
    list_display_links = ("uid", "label")
    list_select_related = ("organization", "site", "product", "owner")
    search_fields = ("=uid", "label", "part_number", "organization__name", "organization__slug")
    list_filter = ("site", "protocol", "system", "organization")
    readonly_fields = ("id",)
    raw_id_fields = ("owner", "product")
    inlines = (LoadInline, DataStreamInline, DeviceImportDayInline)


@admin.register(Load)
class LoadAdmin(OrganizationOwnedAdmin):
    list_display = ("uid", "label", "device", "organization", "enable", "index", "type")
    list_display_links = ("uid", "label")
    list_select_related = ("device", "organization")
    search_fields = ("=uid", "label", "=device__uid", "device__label", "organization__slug")
    list_filter = ("enable", "type", "organization")
    readonly_fields = ("id",)
    raw_id_fields = ("device",)
    inlines = (SignalInline,)


@admin.register(Signal)
class SignalAdmin(SeriesChartAdminMixin, OrganizationOwnedAdmin):
    list_display = ("uid", "si", "sir", "load", "device_uid", "unit", "enable", "series", "organization")
    list_select_related = ("load__device", "series", "organization")
    search_fields = ("=uid", "=si", "=load__uid", "load__label", "series__name", "series__meter_code")
    list_filter = ("enable", "unit", "organization")
    readonly_fields = ("id",)
    raw_id_fields = ("load", "series")

    @admin.display(description="device", ordering="load__device__uid")
    def device_uid(self, obj):
        return obj.load.device.uid


@admin.register(DataStream)
class DataStreamAdmin(SeriesChartAdminMixin, OrganizationOwnedAdmin):
    list_display = (
        "device",
        "stream_id",
        "pin",
        "label",
        "value_type",
        "value",
        "value_updated_at",
        "series",
    )
    list_display_links = ("device", "stream_id")
    list_select_related = ("device", "series", "organization")
    search_fields = ("=device__uid", "device__label", "=stream_id", "pin", "label", "alias")
    list_filter = ("value_type", "organization")
    readonly_fields = ("id", "value_updated_at")
    raw_id_fields = ("device", "series")


@admin.register(Partition)
class PartitionAdmin(OrganizationOwnedAdmin):
    list_display = ("name", "uuid", "organization", "point_count")
    list_select_related = ("organization",)
    search_fields = ("name", "uuid", "organization__name", "organization__slug")
    list_filter = ("organization",)
    readonly_fields = ("id",)
    inlines = (PointInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(point_count=Count("points"))

    @admin.display(description="points", ordering="point_count")
    def point_count(self, obj):
        return obj.point_count


@admin.register(Point)
class PointAdmin(SeriesChartAdminMixin, OrganizationOwnedAdmin):
    list_display = ("name", "uuid", "partition", "unit", "series", "organization")
    list_select_related = ("partition", "series", "organization")
    search_fields = ("name", "uuid", "partition__name", "series__name", "series__meter_code")
    list_filter = ("unit", "organization")
    readonly_fields = ("id",)
    raw_id_fields = ("partition", "series")
