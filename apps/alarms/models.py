"""Alarm rules, the alarms they raise, and how people are told (docs/alarms.md).

Times of samples are epoch ms like the store's; times of the alarms' own life (opened, cleared,
acknowledged) are datetimes, as people read them in the admin.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.timeseries.models import SeriesKind


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    WARNING = "warning", "Warning"


# Higher is more severe: a recipient "from major" receives critical and major.
SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.MAJOR: 3, Severity.MINOR: 2, Severity.WARNING: 1}


def severities_from(least: str) -> list[str]:
    """The severities at least as severe as `least`."""
    return [s for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[least]]


class RuleKind(models.TextChoices):
    NO_DATA = "no_data", "No data (no new sample for the delay)"
    THRESHOLD = "threshold", "Threshold (above/below a limit for the delay)"
    CONSUMPTION = "consumption", "Consumption above its baseline"
    GAPS = "gaps", "Gaps (an interval series missing intervals in a completed day)"


class RuleScope(models.TextChoices):
    SERIES = "series", "One series"
    SITE = "site", "The series of a site"
    KIND = "kind", "All series of a kind"


class Direction(models.TextChoices):
    ABOVE = "above", "Above the limit"
    BELOW = "below", "Below the limit"


class Period(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class AlarmRule(models.Model):
    """A condition watched on one series, the series of a site, or all series of a kind.

    `delay_minutes` is the kind's wait: no data for that long; beyond the limit for that long;
    that long after a period (hour, day) ends before it is judged, so that late data counts.
    The fields a kind does not use are ignored. A rule whose series or site is deleted is
    disabled by the next evaluation (`disabled_reason` says why).
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="alarm_rules"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MAJOR)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    scope = models.CharField(max_length=16, choices=RuleScope.choices, default=RuleScope.SERIES)
    series = models.ForeignKey(
        "timeseries.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    site = models.ForeignKey(
        "tenancy.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    series_kind = models.CharField(
        max_length=16,
        choices=[choice for choice in SeriesKind.choices if choice[0] != SeriesKind.VIRTUAL],
        blank=True,
        help_text="Scope 'kind': the kind of series watched; scope 'site': optionally only this kind.",
    )
    delay_minutes = models.PositiveIntegerField(default=15)
    # threshold
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    limit = models.FloatField(null=True, blank=True)
    hysteresis = models.FloatField(
        default=0,
        help_text="Threshold: the alarm clears only once the value is back past the limit by this much.",
    )
    # consumption
    period = models.CharField(max_length=8, choices=Period.choices, blank=True)
    percent = models.FloatField(
        null=True, blank=True, help_text="Consumption: alarm above this % of the baseline (e.g. 150)."
    )
    # gaps
    interval_minutes = models.PositiveIntegerField(
        default=15, help_text="Gaps: the length of one interval of the series."
    )
    # Threshold rules look at the series written since the last pass; a new or changed rule looks
    # at every series of its scope once (then this is set).
    scope_checked = models.BooleanField(default=False, editable=False)
    # When a rule judging completed periods (consumption, gaps) is next evaluated.
    next_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        indexes = [models.Index(fields=["kind", "enabled"], name="alarmrule_kind_enabled_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def delay_ms(self) -> int:
        return self.delay_minutes * 60_000


class Alarm(models.Model):
    """One occurrence of a rule's condition on one series: open from `started_at` until
    `cleared_at`. At most one open alarm per (rule, series): a partial unique constraint, which
    two evaluators at once cannot get past. Cleared alarms are history, deleted after
    ALARM_RETENTION_DAYS.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="alarms")
    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="alarms")
    series = models.ForeignKey("timeseries.Series", on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True, help_text="The latest value the condition saw.")
    message = models.CharField(max_length=300)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledge_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "series"], condition=Q(cleared_at__isnull=True), name="alarm_one_open_uniq"
            ),
        ]
        indexes = [
            # The alarm list, newest first: a member's (their organizations) and a superuser's.
            models.Index(fields=["organization", "-started_at", "-id"], name="alarm_org_started_idx"),
            models.Index(fields=["-started_at", "-id"], name="alarm_started_idx"),
            models.Index(fields=["cleared_at"], name="alarm_cleared_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.series}"

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLEARED = "cleared", "Cleared"


class AlarmEvent(models.Model):
    """A state change of an alarm, written in the transaction that changes it; notifications
    send each event once (`dispatched_at`), many at a time in one message."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["organization", "id"],
                name="alarmevent_pending_idx",
                condition=Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.kind}"


class Breach(models.Model):
    """A threshold rule's series beyond the limit since `since_ms` (sample time), not yet long
    enough for an alarm, or with its alarm open: the state the delay and the hysteresis need."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="+")
    series = models.ForeignKey("timeseries.Series", on_delete=models.CASCADE, related_name="+")
    since_ms = models.BigIntegerField()
    # When the alarm opens if the value is still beyond the limit; null once it has opened.
    due_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "series"], name="breach_rule_series_uniq")]
        indexes = [models.Index(fields=["due_at"], name="breach_due_idx")]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on {self.series_id} since {self.since_ms}"


class SeriesMark(models.Model):
    """The revision of each series the last evaluation saw: a series whose revision moved since
    was written, and only those are looked at again by the threshold rules."""

    series = models.OneToOneField(
        "timeseries.Series", primary_key=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    revision = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.series_id}#{self.revision}"


class Recipient(models.Model):
    """A user of the organization told by email of the alarms of `min_severity` or worse."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MAJOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="recipient_org_user_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.min_severity} and worse)"


class Webhook(models.Model):
    """An HTTP(S) endpoint receiving alarm events as JSON, signed with HMAC-SHA256 of `secret`
    in the X-EMS-Signature header."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200)
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class Delivery(models.Model):
    """One message (an email to its recipients, or one webhook POST) carrying a batch of events,
    sent by a Celery task that retries it with backoff; each try is a DeliveryAttempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel} {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at}: {'ok' if self.ok else 'failed'}"
