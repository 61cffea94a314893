"""Import jobs: the durable record of accepted data, between the 202 and the store."""

import uuid

from django.conf import settings
from django.db import models


class ImportSource(models.TextChoices):
    """Where an import came from: an API dialect, or a file uploaded in the admin."""

    IOTORQ = "iotorq", "ioTORQ EMIS API"
    BLYNK = "blynk", "Blynk API"
    BUILDINGX = "buildingx", "Building X API"
    GAVAZZI = "gavazzi", "Carlo Gavazzi EMS API"
    CSV = "csv", "CSV upload"


class ImportJob(models.Model):
    """One accepted import: who sent it, through which dialect, the points (packed, see payload.py),
    and how far writing them has got.

    The job is created with its payload in the transaction that accepts the request, before the
    client hears 202, so an accepted import survives a lost broker message or a killed worker:
    the run task is idempotent, and the sweeper re-enqueues jobs that stopped moving.

    `seq` is the job's place in the order of accepted writes (the store's acceptance number,
    taken when the job is accepted or retried): the job never replaces a sample that a write
    accepted after it has set, whenever it runs (docs/api.md, "Write order").

    `written` is the number of the job's points (in input order) the store has committed; runs
    write in chunks and resume from it. `attempts` counts runs that started; `heartbeat_at` is when
    a run last showed progress, which is what the sweeper looks at.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="import_jobs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
        help_text="Whom the imported data is attributed to.",
    )
    token = models.ForeignKey(
        "access.ApiToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
        help_text="The API token the import was sent with, if any.",
    )
    dialect = models.CharField(max_length=16, choices=ImportSource.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    variables = models.PositiveIntegerField(default=0, help_text="Distinct series the import writes to.")
    points = models.PositiveBigIntegerField(default=0, help_text="Points accepted.")
    written = models.PositiveBigIntegerField(default=0, help_text="Points written to the store so far.")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    series_ids = models.JSONField(default=list, editable=False, help_text="The distinct series, ascending.")
    seq = models.BigIntegerField(
        "acceptance number",
        null=True,
        blank=True,
        editable=False,
        help_text="Acceptance number: the job's points lose to writes of the same sample accepted after it.",
    )
    payload = models.BinaryField(null=True, editable=False)
    payload_bytes = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "import job"
        indexes = [
            # The sweeper's scan: only unfinished jobs, which are few.
            models.Index(
                fields=["status", "heartbeat_at"],
                name="importjob_unfinished_idx",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_dialect_display()} import {str(self.id)[:8]} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
