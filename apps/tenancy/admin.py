"""Admin for organizations, memberships and roles, and the pieces every organization-owned
model's admin shares (a form and an inline formset that keep objects inside one organization).

Limiting what a non-superuser sees to their own organizations is not done here yet.
"""

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from .models import Membership, Organization, Role


class OrganizationOwnedForm(forms.ModelForm):
    """A form for a model with an `organization` that refuses links to another organization's
    objects (a load on another organization's device, a series of another tenant, ...).

    The organization is not a form field on change pages and inlines (it is fixed there), which
    would make Django skip every constraint that includes it, such as (organization, uid); it is
    validated anyway once the instance carries its organization.
    """

    def _organization_id(self):
        organization = self.cleaned_data.get("organization")
        return organization.pk if organization is not None else self.instance.organization_id

    def clean(self):
        cleaned_data = super().clean()
        organization_id = self._organization_id()
        if organization_id is None:
            return cleaned_data
        for name, value in list(cleaned_data.items()):
            if name == "organization":
                continue
            if isinstance(value, models.Model) and getattr(value, "organization_id", organization_id) != (
                organization_id
            ):
                self.add_error(name, "This belongs to another organization.")
            elif (
                isinstance(value, models.QuerySet)
                and any(f.name == "organization" for f in value.model._meta.fields)
                and value.exclude(organization_id=organization_id).exists()
            ):
                self.add_error(name, "Some of these belong to another organization.")
        return cleaned_data

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if "organization" not in self.fields and self.instance.organization_id is not None:
            exclude.discard("organization")
        return exclude


class OrganizationInlineFormSet(BaseInlineFormSet):
    """Inline objects take their organization from the parent object."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.instance.organization_id = self.instance.organization_id


class OrganizationOwnedAdmin(admin.ModelAdmin):
    """Base of the admins of organization-owned models: the organization is chosen when an object
    is added and fixed afterwards (its children and series would otherwise straddle tenants)."""

    form = OrganizationOwnedForm

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else ("organization", *readonly)


class OrganizationOwnedInline(admin.TabularInline):
    form = OrganizationOwnedForm
    formset = OrganizationInlineFormSet
    extra = 0
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sn", "mac", "time_zone", "member_count", "created_at")
    search_fields = ("name", "slug", "sn", "mac")
    list_filter = ("time_zone", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at")
    fieldsets = (
        (None, {"fields": ("id", "name", "slug", "time_zone", "created_at")}),
        ("Gateway identity (EMS API)", {"fields": ("sn", "mac")}),
        (
            "Limits (empty: the installation's default)",
            {
                "fields": (
                    "sample_retention_days",
                    "requests_per_minute",
                    "import_points_per_device_day",
                    "realtime_staleness_seconds",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """Roles are defined globally for every organization: only superusers edit them."""

    list_display = ("name", "slug", "permission_count", "description")
    search_fields = ("name", "slug", "description")
    list_filter = ("permissions__content_type__app_label",)
    readonly_fields = ("id",)
    filter_horizontal = ("permissions",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(permission_count=Count("permissions"))

    @admin.display(description="permissions", ordering="permission_count")
    def permission_count(self, obj):
        return obj.permission_count

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role_names", "created_at")
    list_select_related = ("user", "organization")
    search_fields = ("user__username", "user__email", "organization__name", "organization__slug")
    list_filter = ("organization", "roles")
    filter_horizontal = ("roles",)
    readonly_fields = ("id", "created_at")
    fields = ("id", "user", "organization", "roles", "created_at")

    def get_queryset(self, request):
        # One query for the roles of the whole page, not one per row.
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="roles")
    def role_names(self, obj):
        return ", ".join(role.name for role in obj.roles.all())
