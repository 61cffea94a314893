"""The CSV import of samples, pages of the import jobs' admin (ImportJobAdmin.get_urls):

- `import-csv/`: upload a file, preview what was detected and every error, then import it as an
  ImportJob (the Import button of the preview);
- `<id>/progress/`: the job's progress bar (static/ems/import_progress.js polls the status) and
  the series it writes; `<id>/status/`: that progress as JSON.

Importing needs the permissions to change series and to follow the job it creates, in the
organization chosen (`admin_organizations`). A job is fetched through the admin (`get_object`,
so through its organization scoping) and needs its view permission: another organization's job is
"not found", as on the admin's own pages.
"""

import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.core.exceptions import Invalid
from apps.core.uploads.reader import MAX_BYTES, csv_decode, size_label
from apps.core.uploads.staging import upload_discard, upload_read
from apps.tenancy.admin_upload import UploadForm, may_upload, tool_page, upload_step
from apps.timeseries.models import Series

from .samples_csv.repeated import EARLIER, LATER
from .samples_csv.samples import SamplesCsv, csv_import_accept, csv_samples_parse
from .services import ImportRejected

SERIES_SHOWN = 50
SAMPLES_PERMISSIONS = ("timeseries.change_series", "imports.view_importjob")
TIME_ZONES = sorted(zoneinfo.available_timezones())


class SamplesUploadForm(UploadForm):
    time_zone = forms.ChoiceField(required=False, label="Time zone of timestamps without offset")
    repeated_hour = forms.ChoiceField(
        required=False,
        label="Repeated hour",
        choices=[
            ("", "Ask me"),
            (EARLIER, "The earlier offset (summer time)"),
            (LATER, "The later offset (winter time)"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = "The organization's time zone"
        if self.only is not None:
            default += f" ({self.only.time_zone})"
        self.fields["time_zone"].choices = [("", default), *((name, name) for name in TIME_ZONES)]


def _parse(staged, form) -> SamplesCsv:
    """The staged file read with the form's options; a file that is not CSV text is one error."""
    organization = form.cleaned_data["organization"]
    time_zone = form.cleaned_data["time_zone"] or organization.time_zone
    try:
        source = csv_decode(upload_read(staged))
    except Invalid as exc:
        parsed = SamplesCsv(time_zone=time_zone)
        parsed.error(exc.index, exc.message)
        return parsed
    return csv_samples_parse(
        source,
        organization=organization,
        time_zone=time_zone,
        repeated_hour=form.cleaned_data["repeated_hour"],
    )


def job_status(job) -> dict:
    """A job's progress, as the status JSON and the progress page give it."""
    percent = (
        100 if job.points == 0 and job.finished else (100 * job.written // job.points if job.points else 0)
    )
    return {
        "id": str(job.pk),
        "status": job.status,
        "points": job.points,
        "written": job.written,
        "percent": percent,
        "error": job.error,
        "finished": job.finished,
    }


class SamplesImportAdminMixin:
    """The CSV import pages of a ModelAdmin of ImportJob (see the module docstring)."""

    def get_urls(self):
        wrap, prefix = self.admin_site.admin_view, f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import-csv/", wrap(self.import_csv_view), name=f"{prefix}_import_csv"),
            path("<path:object_id>/progress/", wrap(self.progress_view), name=f"{prefix}_progress"),
            path("<path:object_id>/status/", wrap(self.status_view), name=f"{prefix}_status"),
            *super().get_urls(),
        ]

    def followed_job(self, request, object_id):
        """The job if the user may view it here; Http404 otherwise, as for a missing one."""
        job = self.get_object(request, unquote(object_id))
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such import job.")
        return job

    def import_csv_view(self, request):
        form, staged = upload_step(request, SamplesUploadForm, "samples", SAMPLES_PERMISSIONS)
        parsed = _parse(staged, form) if staged is not None else None
        # A new file is always previewed first; the Import button only imports a previewed one.
        previewed = parsed is not None and form.cleaned_data["file"] is None
        if previewed and "import" in request.POST and parsed.ok:
            organization = form.cleaned_data["organization"]
            try:
                job = csv_import_accept(organization=organization, user=request.user, parsed=parsed)
            except ImportRejected as exc:
                parsed.errors, parsed.error_count, parsed.import_points = exc.errors, len(exc.errors), None
            else:
                upload_discard(session=request.session, token=staged.token)
                messages.success(request, f"Import of {job.points:,} samples from {staged.name} accepted.")
                return redirect(f"{self.admin_site.name}:imports_importjob_progress", job.pk)
        return tool_page(
            self,
            request,
            "admin/imports/importjob/import_csv.html",
            "Import samples from CSV",
            {
                "form": form,
                "parsed": parsed,
                "staged": staged,
                "max_size": size_label(MAX_BYTES),
                "organization_count": len(form.fields["organization"].queryset),
            },
        )

    def progress_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self.followed_job(request, object_id)
        series = list(
            Series.objects.filter(pk__in=job.series_ids[:SERIES_SHOWN], organization_id=job.organization_id)
            .only("pk", "name", "meter_code", "unit")
            .order_by("pk")
        )
        change_url = reverse(f"{self.admin_site.name}:imports_importjob_change", args=[job.pk])
        return tool_page(
            self,
            request,
            "admin/imports/importjob/progress.html",
            f"Import {str(job.pk)[:8]}",
            {
                "job": job,
                "status": job_status(job),
                "series": series,
                "more_series": max(0, len(job.series_ids) - SERIES_SHOWN),
                "job_admin_url": change_url,
                "may_import": self.may_import(request),
            },
        )

    def status_view(self, request, object_id):
        """GET -> the job's progress as JSON: status, points, written, percent, error, finished;
        a JSON 403 or 404 otherwise."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        try:
            job = self.followed_job(request, object_id)
        except Http404:
            return JsonResponse({"error": "not found"}, status=404)
        return JsonResponse(job_status(job))  # never cached: admin_view says so

    def may_import(self, request) -> bool:
        return may_upload(request, SAMPLES_PERMISSIONS)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"may_import": self.may_import(request), **(extra_context or {})}
        )
