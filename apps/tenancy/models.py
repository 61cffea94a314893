"""The tenant (Organization), its places (Site) and who may do what in it (Membership, Role)."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class Organization(models.Model):
    """The tenant. Every credential, device and series belongs to exactly one.

    The limits are nullable: empty means "the installation's default" (a setting), so changing a
    default reaches every organization that never chose its own.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    sn = models.CharField("gateway serial number", max_length=64, blank=True)
    mac = models.CharField("gateway MAC address", max_length=17, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    sample_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Samples older than this are removed. Empty: the default."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    import_points_per_device_day = models.PositiveIntegerField(null=True, blank=True)
    realtime_staleness_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_requests_per_minute(self) -> int:
        return self.requests_per_minute or settings.EMS_REQUESTS_PER_MINUTE

    @property
    def effective_import_points_per_device_day(self) -> int:
        return self.import_points_per_device_day or settings.EMS_IMPORT_POINTS_PER_DEVICE_DAY

    @property
    def effective_realtime_staleness_seconds(self) -> int:
        return self.realtime_staleness_seconds or settings.EMS_REALTIME_STALENESS_SECONDS

    @property
    def effective_sample_retention_days(self) -> int:
        """0 means samples are kept forever."""
        if self.sample_retention_days is not None:
            return self.sample_retention_days
        return settings.EMS_SAMPLE_RETENTION_DAYS


class Site(models.Model):
    """A building or place of an organization, with its own time zone and floor area.

    Devices and series may belong to one; a series' local calendar (days, weeks, months, years)
    is its site's time zone, else its organization's (timeseries.selectors.series_zone). It lives
    here, beside the organization, because both inventory (devices) and timeseries (series) refer
    to it and timeseries may not import inventory.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    floor_area = models.FloatField(
        "floor area (m²)", null=True, blank=True, validators=[MinValueValidator(0)]
    )
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="site_org_name_uniq")]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A named set of Django permissions, defined globally and granted per membership.

    The API permissions (Blynk's and the EMS gateway's) are declared on this model so that they
    exist as ordinary Django permissions a role can carry.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    permissions = models.ManyToManyField("auth.Permission", blank=True, related_name="ems_roles")

    class Meta:
        ordering = ["name"]
        permissions = [
            ("OWN_DEVICES_VIEW", "Blynk: view the devices the user owns"),
            ("ORG_DEVICES_VIEW", "Blynk: view all devices of the organization"),
            ("ORG_DEVICES_CONTROL", "Blynk: write current values and widget properties"),
            ("ORG_DEVICE_DATA_IMPORT", "Blynk: import datastream history"),
            ("EMS_API", "EMS gateway API: log in and read"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user in an organization, holding one or more roles there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    roles = models.ManyToManyField(Role, blank=True, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_user_org_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"
