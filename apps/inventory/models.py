"""Device configuration: what the dialects call devices, loads, signals, datastreams and points.

Every object carries its organization (loads and signals too, though it could be reached through
the device) so that uids can be unique per organization by a plain database constraint and every
query can be scoped with one indexed filter.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .values import ValueMismatch, ValueType, type_name, value_fitted


class Protocol(models.TextChoices):
    RTU = "rtu", "Modbus RTU"
    TCP = "tcp", "Modbus TCP"
    METERBUS = "meterBus", "meterBus"
    VIRTUAL = "virtual", "Virtual"
    P1 = "P1", "P1"


class Product(models.Model):
    """Groups devices; a sub-product counts as its parent for Blynk's batch update.

    `datastream_template` lists the datastreams copied to a device created in this product.
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="products"
    )
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="sub_products"
    )
    datastream_template = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="product_org_name_uniq")]

    def __str__(self) -> str:
        return self.name

    @property
    def root(self) -> "Product":
        product = self
        while product.parent_id is not None:
            product = product.parent
        return product


class Device(models.Model):
    """A metering device: the Blynk device and the EMS device are one object."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="devices")
    uid = models.PositiveIntegerField("uid", help_text="The integer id the APIs use (deviceId).")
    label = models.CharField(max_length=200)
    part_number = models.CharField(max_length=64, blank=True)
    system = models.CharField(max_length=16, blank=True, help_text="Wiring system, e.g. 1P, 3P.N.")
    protocol = models.CharField(max_length=16, choices=Protocol.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_devices",
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    site = models.ForeignKey(
        "tenancy.Site",
        null=True,
        blank=True,
        # A site with devices is not deleted (the admin lists them); RESTRICT rather than PROTECT
        # so that deleting the whole organization, which takes its devices too, still works.
        on_delete=models.RESTRICT,
        related_name="devices",
        help_text="The series created for the device's signals and datastreams take this site.",
    )

    class Meta:
        ordering = ["organization", "uid"]
        constraints = [models.UniqueConstraint(fields=["organization", "uid"], name="device_org_uid_uniq")]

    def __str__(self) -> str:
        return f"{self.uid} {self.label}"


class Load(models.Model):
    """A measured circuit of a device. `config` is keyed by protocol: {"meterBus": {...}}."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="loads")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="loads")
    uid = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    enable = models.BooleanField(default=True)
    index = models.PositiveSmallIntegerField(default=1)
    type = models.SmallIntegerField(default=0)
    config = models.JSONField("protocol configuration", default=dict, blank=True)

    class Meta:
        ordering = ["organization", "uid"]
        constraints = [models.UniqueConstraint(fields=["organization", "uid"], name="load_org_uid_uniq")]

    def __str__(self) -> str:
        return f"{self.uid} {self.label}"

    def clean(self):
        """`config` is an object keyed by protocol, each holding an object: the EMS dialect shows
        the device protocol's entry as an object, and `[]` saved here once broke /v1/loads."""
        super().clean()
        problem = protocol_config_problem(self.config)
        if problem is not None:
            raise ValidationError({"config": problem})


def protocol_config_problem(config) -> str | None:
    """What is wrong with a load's protocol configuration, or None when it is well formed."""
    protocols = ", ".join(Protocol.values)
    if not isinstance(config, dict):
        return (
            f"The protocol configuration must be a JSON object keyed by protocol ({protocols}), each "
            'holding an object, e.g. {"meterBus": {"ct": 10}}.'
        )
    for key, entry in config.items():
        if key not in Protocol.values:
            return f"{key!r} is not a protocol: the keys are {protocols}."
        if not isinstance(entry, dict):
            return f"The configuration of {key!r} must be a JSON object."
    return None


class Signal(models.Model):
    """One measured quantity of a load, stored in its Series.

    `si` says which quantity it is; `sir` the register it is read from (empty: same as `si`).
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="signals")
    load = models.ForeignKey(Load, on_delete=models.CASCADE, related_name="signals")
    uid = models.PositiveIntegerField()
    si = models.PositiveIntegerField("signal identifier")
    sir = models.PositiveIntegerField("register identifier", null=True, blank=True)
    enable = models.BooleanField(default=True)
    unit = models.CharField(max_length=16, blank=True)
    series = models.ForeignKey(
        "timeseries.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
    )

    class Meta:
        ordering = ["organization", "uid"]
        constraints = [models.UniqueConstraint(fields=["organization", "uid"], name="signal_org_uid_uniq")]

    def __str__(self) -> str:
        return f"{self.uid} (si {self.si})"

    @property
    def effective_sir(self) -> int:
        return self.si if self.sir is None else self.sir


NUMERIC_VALUE_TYPES = frozenset({ValueType.INTEGER, ValueType.DOUBLE, ValueType.ENUM})


class DataStream(models.Model):
    """A Blynk datastream of a device: a current value, widget properties and, when numeric,
    a Series holding its history."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="datastreams"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="datastreams")
    stream_id = models.PositiveIntegerField("dataStreamId")
    pin = models.CharField(max_length=8, help_text="Virtual pin, e.g. v1.")
    label = models.CharField(max_length=100)
    alias = models.CharField(max_length=100, blank=True)
    value_type = models.CharField(max_length=16, choices=ValueType.choices, default=ValueType.DOUBLE)
    properties = models.JSONField("widget properties", default=dict, blank=True)
    value = models.JSONField("current value", null=True, blank=True)
    value_updated_at = models.DateTimeField(null=True, blank=True)
    series = models.ForeignKey(
        "timeseries.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="datastreams"
    )

    class Meta:
        ordering = ["device", "stream_id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "stream_id"], name="datastream_device_stream_uniq"),
            models.UniqueConstraint(fields=["device", "pin"], name="datastream_device_pin_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.device.uid}/{self.stream_id} {self.label}"

    @property
    def is_numeric(self) -> bool:
        return self.value_type in NUMERIC_VALUE_TYPES

    def clean(self):
        """Widget properties are an object and the current value fits the value type, as the
        Blynk dialect's writes make them; what the admin saves must not break its reads."""
        super().clean()
        errors = {}
        if not isinstance(self.properties, dict):
            errors["properties"] = 'Widget properties must be a JSON object, e.g. {"color": "#FF0000"}.'
        if self.value is not None:
            try:
                value_fitted(value_type=self.value_type, value=self.value)
            except ValueMismatch as exc:
                errors["value"] = (
                    f"The current value must be {exc} for a {type_name(self.value_type)} datastream."
                )
        if errors:
            raise ValidationError(errors)


class Partition(models.Model):
    """A Building X partition of an organization."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="partitions"
    )
    uuid = models.UUIDField(default=uuid.uuid4)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "uuid"], name="partition_org_uuid_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Point(models.Model):
    """A Building X point in a partition, stored in its Series."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="points")
    partition = models.ForeignKey(Partition, on_delete=models.CASCADE, related_name="points")
    uuid = models.UUIDField(default=uuid.uuid4)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=16, blank=True)
    series = models.ForeignKey(
        "timeseries.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="points"
    )

    class Meta:
        ordering = ["partition", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "uuid"], name="point_org_uuid_uniq")]

    def __str__(self) -> str:
        return self.name


class DeviceImportDay(models.Model):
    """How many history points a device has had accepted on one UTC day (the day of receipt).

    Blynk allows a device a number of imported points a day (Organization's limit, default
    10,000), counted over every request of that day. The count is a row, not a cache entry, so
    it survives restarts and is exact across processes: a request adds its points with one
    conditional upsert in the transaction that writes them (see
    `services.device_import_quota_take`), so a rejected or failed request counts nothing.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="import_days")
    day = models.DateField(help_text="UTC day of receipt.")
    points = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["device", "day"], name="device_import_day_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} on {self.day}: {self.points}"
