"""Admin for import jobs: who sent what, when, and how far it got. Jobs are created by the API
and by the CSV import of samples (its pages are this admin's: admin_samples.py), never by hand;
the packed payload is never loaded, only its size is shown."""

import uuid

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.tenancy.admin_scoping import OrganizationScopedAdmin
from apps.timeseries.models import Series

from .admin_samples import SamplesImportAdminMixin
from .models import ImportJob
from .selectors import SUMMARY_FIELDS
from .services import import_retry

SERIES_SHOWN = 20


@admin.register(ImportJob)
class ImportJobAdmin(SamplesImportAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "short_id",
        "created_at",
        "organization",
        "user",
        "dialect",
        "status",
        "variables",
        "points",
        "progress",
        "duration",
    )
    list_select_related = ("organization", "user")
    list_filter = ("status", "dialect", "organization", "created_at")
    search_fields = (
        "=id",
        "user__username",
        "user__email",
        "organization__name",
        "organization__slug",
        "error",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("retry",)
    # The detail page's layout, not SUMMARY_FIELDS again: its own order, and computed fields
    # (series_links, payload_size) beside the columns get_queryset reads.
    fields = (
        "id",
        "organization",
        "user",
        "token",
        "dialect",
        "status",
        "error",
        "variables",
        "points",
        "written",
        "attempts",
        "seq",
        "series_links",
        "payload_size",
        "created_at",
        "enqueued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # Never the payload (0.5 MB a job): neither on the list nor on the detail page.
        return super().get_queryset(request).only(*SUMMARY_FIELDS, "series_ids")

    def get_search_fields(self, request):
        # "=id" compares with a UUID: a term that is not one must not break the search.
        try:
            uuid.UUID(request.GET.get("q", "").strip())
        except ValueError:
            return [field for field in self.search_fields if field != "=id"]
        return self.search_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("imports.change_importjob")

    @admin.display(description="job", ordering="id")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description="written")
    def progress(self, obj):
        if not obj.points:
            return "-"
        return f"{obj.written:,} ({100 * obj.written // obj.points} %)"

    @admin.display(description="took")
    def duration(self, obj):
        if obj.finished_at is None:
            return "-"
        return f"{(obj.finished_at - obj.created_at).total_seconds():.2f} s"

    @admin.display(description="payload")
    def payload_size(self, obj):
        # The status says whether the points are still held: a done job's were released.
        if obj.status == ImportJob.Status.DONE:
            return f"{obj.payload_bytes:,} bytes (packed; released when the job was done)"
        return f"{obj.payload_bytes:,} bytes (packed; not shown)"

    @admin.display(description="series")
    def series_links(self, obj):
        ids = obj.series_ids or []
        shown = Series.objects.filter(pk__in=ids[:SERIES_SHOWN]).order_by("pk")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:timeseries_series_change", args=[s.pk]), str(s)) for s in shown),
        )
        more = len(ids) - SERIES_SHOWN
        if more > 0:
            return format_html("{} and {} more", links, more)
        return links or "-"

    @admin.action(description="Retry selected failed jobs", permissions=["retry"])
    def retry(self, request, queryset):
        with transaction.atomic():
            retried = sum(import_retry(job=job) for job in queryset.filter(status=ImportJob.Status.FAILED))
        skipped = queryset.count() - retried
        message = f"Queued {retried} failed job{'s' if retried != 1 else ''} again."
        if skipped:
            message += f" {skipped} not failed, left alone."
        self.message_user(request, message, messages.SUCCESS)
