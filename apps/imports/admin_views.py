"""The admin's tools pages: CSV import of samples with preview and progress, CSV export and range
deletion of a series' samples, bulk configuration of devices, loads and signals from CSV.

Every view is wrapped in `admin.site.admin_view` (admin_urls.py): active staff only, the admin's
login otherwise. Each checks its model permissions, which roles grant per organization, and
works only in the organizations where the user holds them (a superuser: all): the upload forms
offer only those, and a series or job of any other organization is answered like a missing one
(404), as the admin's own pages answer. The work is done by services and selectors: `csv_samples_parse` /
`csv_import_accept`, `samples_delete`, `samples_csv`, `config_plan` / `config_apply`.
"""

import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.core.exceptions import Invalid, NotFound
from apps.inventory import bulk
from apps.inventory.bulk import ConfigPlan, ConfigRejected, config_apply, config_plan
from apps.tenancy.backends import organization_permissions
from apps.tenancy.models import Organization
from apps.tenancy.selectors import user_organizations
from apps.timeseries.export import export_filename, ms_to_iso, samples_csv
from apps.timeseries.models import Series
from apps.timeseries.query import samples_count
from apps.timeseries.selectors import series_zone
from apps.timeseries.services import samples_delete

from .csv.reader import MAX_BYTES, csv_decode, csv_open, csv_records, size_label
from .csv.repeated import EARLIER, LATER
from .csv.samples import SamplesCsv, csv_import_accept, csv_samples_parse
from .csv.staging import upload_discard, upload_get, upload_path, upload_read, upload_stage
from .csv.timestamps import CellError, TimestampReader
from .models import ImportJob, ImportSource
from .services import SUMMARY_FIELDS, ImportRejected

SERIES_SHOWN = 50
RECENT_JOBS = 10
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SAMPLES_PERMISSIONS = ("timeseries.change_series",)
CONFIG_PERMISSIONS = (
    "inventory.add_device",
    "inventory.change_device",
    "inventory.add_load",
    "inventory.change_load",
    "inventory.add_signal",
    "inventory.change_signal",
    "timeseries.add_series",
    "timeseries.change_series",
)
TIME_ZONES = sorted(zoneinfo.available_timezones())


# --- scoping and rendering ------------------------------------------------------------------------


def _organizations(user, *perms: str):
    """The organizations where `user` holds every one of `perms` (roles are granted per
    organization, apps/tenancy/backends.py); a superuser: all of them."""
    if user.is_active and user.is_superuser:
        return Organization.objects.all()
    wanted = set(perms)
    permitted = [pk for pk, held in organization_permissions(user).items() if wanted <= held]
    return user_organizations(user=user).filter(pk__in=permitted)


def _require(request, *perms: str) -> None:
    """403 unless the user holds `perms` in some organization (which ones: `_organizations`)."""
    if not request.user.has_perms(perms):
        raise PermissionDenied


def _may(user, obj, *perms: str) -> bool:
    """Whether `user` holds any of `perms` in the organization of `obj` (None: in any)."""
    return any(user.has_perm(perm, obj) for perm in perms)


def _series(request, series_id: int, *perms: str) -> Series:
    """The series if the user holds one of `perms` in its organization; else 404, exactly as for
    a series that does not exist (as the admin's own pages answer)."""
    series = (
        Series.objects.select_related("organization")
        .filter(pk=series_id, organization__in=_organizations(request.user))
        .first()
    )
    if series is None or not _may(request.user, series, *perms):
        raise Http404("No such series.")
    return series


def _job(request, job_id) -> ImportJob:
    """The job if the user may follow it: with the view permission on import jobs in its
    organization, or as the one who sent it while a member there. Else 404."""
    job = (
        ImportJob.objects.only(*SUMMARY_FIELDS, "series_ids")
        .filter(pk=job_id, organization__in=_organizations(request.user))
        .first()
    )
    if job is None or not (
        job.user_id == request.user.pk or _may(request.user, job, "imports.view_importjob")
    ):
        raise Http404("No such import job.")
    return job


def _render(request, template: str, title: str, context: dict, *, crumbs=()) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"admin/ems_tools/{template}",
        {**admin.site.each_context(request), "title": title, "crumbs": crumbs, **context},
    )


class OrganizationChoiceForm(forms.Form):
    """The organization to work in: a choice among the user's, hidden when there is only one."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        field.queryset = organizations.order_by("name")
        self.only = field.queryset[0] if len(field.queryset) == 1 else None
        if self.only is not None:
            field.widget, field.initial, field.required = forms.HiddenInput(), self.only.pk, False

    def clean_organization(self):
        return self.cleaned_data.get("organization") or self.only


class UploadForm(OrganizationChoiceForm):
    file = forms.FileField(
        required=False, label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )
    upload = forms.CharField(required=False, widget=forms.HiddenInput())


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


def _staged(request, form: UploadForm, kind: str, limit: int | None):
    """The file the form names: newly uploaded (and staged now, at most `limit` bytes, default
    the CSV reader's MAX_BYTES) or staged
    by an earlier preview of this session. Adds the form's error and returns None when there is
    none."""
    upload = form.cleaned_data.get("file")
    if upload is not None:
        try:
            return upload_stage(session=request.session, kind=kind, upload=upload, limit=limit)
        except Invalid as exc:
            form.add_error("file", exc.message)
            return None
    token = form.cleaned_data.get("upload")
    if token:
        staged = upload_get(session=request.session, kind=kind, token=token)
        if staged is None:
            form.add_error("file", "The uploaded file is no longer kept here: choose it again.")
        return staged
    form.add_error("file", "Choose a CSV file.")
    return None


def _upload_form(
    request, form_class: type[UploadForm], kind: str, perms: tuple[str, ...], limit: int | None = None
):
    """The upload step both CSV tools share: 403 without `perms`, the form offering the
    organizations where the user holds them, and the staged file a valid POST names (else None)."""
    _require(request, *perms)
    organizations = _organizations(request.user, *perms)
    form = form_class(request.POST or None, request.FILES or None, organizations=organizations)
    valid = request.method == "POST" and form.is_valid()
    staged = _staged(request, form, kind, limit) if valid else None
    return form, staged


def _read(staged):
    """The staged file decoded; Invalid (with the line) when it is not CSV text."""
    return csv_decode(upload_read(staged))


# --- pages ----------------------------------------------------------------------------------------


def tools_index_view(request):
    """What the tools are, and the latest CSV imports of the user's organizations."""
    user = request.user
    followed = Q(organization__in=_organizations(user, "imports.view_importjob"))
    followed |= Q(user=user, organization__in=_organizations(user))
    jobs = list(
        ImportJob.objects.only(*SUMMARY_FIELDS)
        .filter(followed, dialect=ImportSource.CSV)
        .select_related("organization", "user")[:RECENT_JOBS]
    )
    return _render(
        request,
        "index.html",
        "Tools",
        {
            "jobs": jobs,
            "can_import": request.user.has_perms(SAMPLES_PERMISSIONS),
            "can_configure": request.user.has_perms(CONFIG_PERMISSIONS),
        },
    )


def samples_import_view(request):
    """Upload a CSV file of samples, preview what was detected and every error, then import it
    as an ImportJob (the Import button of the preview) and follow the job's progress."""
    form, staged = _upload_form(request, SamplesUploadForm, "samples", SAMPLES_PERMISSIONS)
    parsed = None
    if staged is not None:
        organization = form.cleaned_data["organization"]
        time_zone = form.cleaned_data["time_zone"] or organization.time_zone
        try:
            source = _read(staged)
        except Invalid as exc:
            parsed = SamplesCsv(time_zone=time_zone)
            parsed.error(exc.index, exc.message)
        else:
            parsed = csv_samples_parse(
                source,
                organization=organization,
                time_zone=time_zone,
                repeated_hour=form.cleaned_data["repeated_hour"],
            )
        # A new file is always previewed first; the Import button only imports a previewed one.
        if "import" in request.POST and form.cleaned_data["file"] is None and parsed.ok:
            try:
                job = csv_import_accept(organization=organization, user=request.user, parsed=parsed)
            except ImportRejected as exc:
                parsed.errors, parsed.error_count, parsed.import_points = exc.errors, len(exc.errors), None
            else:
                upload_discard(session=request.session, token=staged.token)
                messages.success(request, f"Import of {job.points:,} samples from {staged.name} accepted.")
                return redirect("ems-tools-job", job_id=job.pk)
    return _render(
        request,
        "samples_import.html",
        "Import samples from CSV",
        {
            "form": form,
            "parsed": parsed,
            "staged": staged,
            "max_size": size_label(MAX_BYTES),
            "organization_count": len(form.fields["organization"].queryset),
        },
        crumbs=[("Tools", reverse("ems-tools-index"))],
    )


def job_view(request, job_id):
    """An import job's progress bar (static/ems/import_progress.js polls the status) and the
    series it writes."""
    job = _job(request, job_id)
    series = list(
        Series.objects.filter(pk__in=job.series_ids[:SERIES_SHOWN], organization_id=job.organization_id)
        .only("pk", "name", "meter_code", "unit")
        .order_by("pk")
    )
    return _render(
        request,
        "job.html",
        f"Import {str(job.pk)[:8]}",
        {
            "job": job,
            "status": _job_status(job),
            "series": series,
            "more_series": max(0, len(job.series_ids) - SERIES_SHOWN),
            "job_admin_url": reverse("admin:imports_importjob_change", args=[job.pk])
            if request.user.has_perm("imports.view_importjob")
            else None,
        },
        crumbs=[("Tools", reverse("ems-tools-index"))],
    )


def job_status_view(request, job_id):
    """GET -> the job's progress as JSON: status, points, written, percent, error, finished."""
    try:
        job = _job(request, job_id)
    except Http404:
        return JsonResponse({"error": "not found"}, status=404)
    response = JsonResponse(_job_status(job))
    response["Cache-Control"] = "no-store"
    return response


def _job_status(job: ImportJob) -> dict:
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


class RangeForm(forms.Form):
    """A range of a series' samples, [start, end): ISO 8601 (without offset: in `time_zone`) or
    epoch seconds or milliseconds; a blank bound is open."""

    start = forms.CharField(required=False, label="From (inclusive)")
    end = forms.CharField(required=False, label="To (exclusive)")
    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        choices=[("", "The organization's time zone"), *((n, n) for n in TIME_ZONES)],
    )

    def __init__(self, *args, default_time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_time_zone = default_time_zone
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update({"placeholder": "2024-03-01T00:00", "size": 24})

    def clean(self):
        data = super().clean()
        zone = data.get("time_zone") or self.default_time_zone
        for name in ("start", "end"):
            cell = (data.get(name) or "").strip()
            try:
                data[f"{name}_ms"] = TimestampReader(zone).read(cell, 0) if cell else None
            except CellError as exc:
                self.add_error(name, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        start, end = data.get("start_ms"), data.get("end_ms")
        if start is not None and end is not None and start >= end:
            self.add_error("end", "The end must come after the start.")
        return data


def _series_crumbs(series: Series) -> list:
    return [
        ("Series", reverse("admin:timeseries_series_changelist")),
        (str(series), reverse("admin:timeseries_series_change", args=[series.pk])),
    ]


def series_export_view(request, series_id):
    """A series' samples in a range as a CSV download (apps/timeseries/export.py), streamed; without
    `download` in the query, the page with the range form."""
    # The admin lets whoever may change a series view it too.
    if not _may(request.user, None, "timeseries.view_series", "timeseries.change_series"):
        raise PermissionDenied
    series = _series(request, series_id, "timeseries.view_series", "timeseries.change_series")
    form = RangeForm(request.GET or None, default_time_zone=series_zone(series))
    if "download" in request.GET and form.is_valid():
        start_ms, end_ms = form.cleaned_data["start_ms"], form.cleaned_data["end_ms"]
        response = StreamingHttpResponse(
            samples_csv(series_id=series.pk, start_ms=start_ms, end_ms=end_ms),
            content_type="text/csv; charset=utf-8",
        )
        name = export_filename(
            label=series.meter_code or f"series-{series.pk}", start_ms=start_ms, end_ms=end_ms
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return _render(
        request,
        "series_export.html",
        f"Export samples of {series}",
        {"series": series, "form": form, "original": series},
        crumbs=_series_crumbs(series),
    )


def series_delete_samples_view(request, series_id):
    """Delete a range of a series' samples in two steps: the range form, then a confirmation
    page that says how many samples will go; confirming deletes them (`samples_delete`)."""
    _require(request, "timeseries.change_series")
    series = _series(request, series_id, "timeseries.change_series")
    if request.method == "POST" and "confirm" in request.POST:
        try:
            start_ms, end_ms = (int(request.POST.get(name, "")) for name in ("start_ms", "end_ms"))
        except ValueError:
            return redirect("ems-tools-series-delete", series_id=series.pk)
        start_ms, end_ms = max(start_ms, INT64_MIN), min(end_ms, INT64_MAX)
        try:
            deleted = samples_delete(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
        except NotFound as exc:
            raise Http404("No such series.") from exc
        except Invalid as exc:  # a virtual series: it has no samples
            messages.error(request, exc.message)
            return redirect("admin:timeseries_series_change", series.pk)
        messages.success(request, f"Deleted {deleted:,} sample{'s' if deleted != 1 else ''} of {series}.")
        return redirect("admin:timeseries_series_change", series.pk)
    form = RangeForm(request.POST or None, default_time_zone=series_zone(series))
    context = {"series": series, "form": form, "original": series}
    if request.method == "POST" and form.is_valid():
        start_ms, end_ms = form.cleaned_data["start_ms"], form.cleaned_data["end_ms"]
        bounds = (INT64_MIN if start_ms is None else start_ms, INT64_MAX if end_ms is None else end_ms)
        context |= {
            "confirm": True,
            "count": samples_count(series_id=series.pk, start_ms=bounds[0], end_ms=bounds[1]),
            "start_ms": bounds[0],
            "end_ms": bounds[1],
            "start_at": _iso(start_ms),
            "end_at": _iso(end_ms),
            "time_zone": form.cleaned_data["time_zone"] or series_zone(series),
        }
    return _render(
        request,
        "series_delete.html",
        f"Delete samples of {series}",
        context,
        crumbs=_series_crumbs(series),
    )


def _iso(ms: int | None) -> str:
    return "" if ms is None else ms_to_iso(ms)


def config_import_view(request):
    """Upload a CSV of devices, loads and signals (apps/inventory/bulk), preview what it creates
    and changes and every error, then apply it in one transaction. The staged file is read as a
    stream by the preview, and again by Apply, which validates it from scratch inside its
    transaction (nothing the preview concluded is trusted) and writes it."""
    form, staged = _upload_form(request, UploadForm, "config", CONFIG_PERMISSIONS, limit=bulk.MAX_BYTES)
    plan = None
    if staged is not None:
        organization = form.cleaned_data["organization"]
        # A new file is always previewed first; Apply applies only a previewed one.
        applying = "apply" in request.POST and form.cleaned_data["file"] is None
        try:
            source = csv_open(upload_path(staged), limit=bulk.MAX_BYTES)
            if applying:
                applied = config_apply(organization=organization, records=csv_records(source))
                upload_discard(session=request.session, token=staged.token)
                messages.success(request, f"{staged.name} applied to {organization}: {_summary(applied)}.")
                changelist = reverse("admin:inventory_device_changelist")
                return redirect(f"{changelist}?organization__id__exact={organization.pk}")
            plan = config_plan(organization=organization, records=csv_records(source))
        except ConfigRejected as exc:  # the preview again, with the errors the apply found
            plan = config_plan(organization=organization, records=csv_records(source))
            plan.errors, plan.error_count = exc.errors, len(exc.errors)
        except Invalid as exc:  # not CSV text, or quoting broken past repair
            plan = ConfigPlan()
            plan.error(exc.index, exc.message)
    return _render(
        request,
        "config_import.html",
        "Bulk configuration from CSV",
        {
            "form": form,
            "plan": plan,
            "staged": staged,
            "max_size": size_label(bulk.MAX_BYTES),
            "max_rows": f"{bulk.MAX_ROWS:,}",
            "organization_count": len(form.fields["organization"].queryset),
        },
        crumbs=[("Tools", reverse("ems-tools-index"))],
    )


def _summary(plan: ConfigPlan) -> str:
    counts = plan.counts
    names = {"device": "devices", "load": "loads", "signal": "signals", "series": "series"}
    return "; ".join(
        f"{names[kind]} {counts[kind]['create']} created, {counts[kind]['update']} updated" for kind in names
    )
