"""The bulk configuration from CSV, a page of the devices' admin (`import-csv/`, DeviceAdmin):
upload a CSV of devices, loads and signals (config_csv/), preview what it creates and changes and
every error, then apply it in one transaction. The staged file is read as a stream by the
preview, and again by Apply, which validates it from scratch inside its transaction (nothing the
preview concluded is trusted) and writes it.

The upload, its staging between preview and Apply and the CSV reading are the CSV import's
(apps/tenancy/admin_upload.py, apps/core/uploads); the organizations offered are those where the user holds
every permission the configuration needs (`admin_organizations`).
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.core.exceptions import Invalid
from apps.core.uploads.reader import csv_open, csv_records, size_label
from apps.core.uploads.staging import upload_discard, upload_path
from apps.tenancy.admin_upload import UploadForm, may_upload, tool_page, upload_step

from . import config_csv
from .config_csv import ConfigPlan, ConfigRejected, config_apply, config_plan

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


def _summary(plan: ConfigPlan) -> str:
    counts = plan.counts
    names = {"device": "devices", "load": "loads", "signal": "signals", "series": "series"}
    return "; ".join(
        f"{names[kind]} {counts[kind]['create']} created, {counts[kind]['update']} updated" for kind in names
    )


class ConfigImportAdminMixin:
    """The bulk configuration page of the devices' ModelAdmin (see the module docstring)."""

    def get_urls(self):
        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.config_import_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_import_csv",
            ),
            *super().get_urls(),
        ]

    def may_configure(self, request) -> bool:
        return may_upload(request, CONFIG_PERMISSIONS)

    def changelist_view(self, request, extra_context=None):
        context = {"may_configure": self.may_configure(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def config_import_view(self, request):
        form, staged = upload_step(
            request, UploadForm, "config", CONFIG_PERMISSIONS, limit=config_csv.MAX_BYTES
        )
        plan = None
        if staged is not None:
            organization = form.cleaned_data["organization"]
            # A new file is always previewed first; Apply applies only a previewed one.
            applying = "apply" in request.POST and form.cleaned_data["file"] is None
            try:
                source = csv_open(upload_path(staged), limit=config_csv.MAX_BYTES)
                if applying:
                    applied = config_apply(organization=organization, records=csv_records(source))
                    upload_discard(session=request.session, token=staged.token)
                    messages.success(
                        request, f"{staged.name} applied to {organization}: {_summary(applied)}."
                    )
                    changelist = reverse(f"{self.admin_site.name}:inventory_device_changelist")
                    return redirect(f"{changelist}?organization__id__exact={organization.pk}")
                plan = config_plan(organization=organization, records=csv_records(source))
            except ConfigRejected as exc:  # the preview again, with the errors the apply found
                plan = config_plan(organization=organization, records=csv_records(source))
                plan.errors, plan.error_count = exc.errors, len(exc.errors)
            except Invalid as exc:  # not CSV text, or quoting broken past repair
                plan = ConfigPlan()
                plan.error(exc.index, exc.message)
        return tool_page(
            self,
            request,
            "admin/inventory/device/import_csv.html",
            "Bulk configuration from CSV",
            {
                "form": form,
                "plan": plan,
                "staged": staged,
                "max_size": size_label(config_csv.MAX_BYTES),
                "max_rows": f"{config_csv.MAX_ROWS:,}",
                "organization_count": len(form.fields["organization"].queryset),
            },
        )
