"""What the admin's CSV upload pages share (the samples import on the import jobs' admin, the
bulk configuration on the devices' admin): the upload form, its organization choice, the file
kept server-side between the preview and the import (apps/core/uploads/staging.py), and the page's chrome.

The organizations offered are those where the user holds every permission the page needs
(`admin_organizations`, the admins' own scoping); a user who holds them nowhere is refused (403).
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from apps.core.exceptions import Invalid
from apps.core.uploads.staging import upload_get, upload_stage
from apps.tenancy.admin_scoping import admin_organizations, is_active_superuser
from apps.tenancy.models import Organization


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


def _staged(request, form: UploadForm, kind: str, limit: int | None):
    """The file the form names: newly uploaded (and staged now, at most `limit` bytes, default
    the CSV reader's MAX_BYTES) or staged by an earlier preview of this session. Adds the form's
    error and returns None when there is none."""
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


def may_upload(request, perms: tuple[str, ...]) -> bool:
    """Whether the user holds `perms` together in some organization (a superuser: anywhere), so
    that an upload page has one to offer: what decides whether to link it."""
    return admin_organizations(request, perms).exists()


def upload_step(
    request, form_class: type[UploadForm], kind: str, perms: tuple[str, ...], limit: int | None = None
):
    """The upload step both CSV pages share: 403 unless the user holds `perms` in some
    organization, the form offering those organizations, and the staged file a valid POST names
    (else None)."""
    organizations = admin_organizations(request, perms)
    if not is_active_superuser(request.user) and not organizations.exists():
        raise PermissionDenied
    form = form_class(request.POST or None, request.FILES or None, organizations=organizations)
    valid = request.method == "POST" and form.is_valid()
    staged = _staged(request, form, kind, limit) if valid else None
    return form, staged


def tool_page(model_admin, request, template: str, title: str, context: dict, *, crumbs=()):
    """A tool page of `model_admin` in the admin's chrome; `crumbs` are (label, url) pairs after
    the model's changelist (templates/admin/tool_page.html)."""
    opts = model_admin.opts
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "crumbs": crumbs,
            **context,
        },
    )
