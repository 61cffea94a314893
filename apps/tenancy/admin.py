"""Admin for organizations, memberships and roles. The scoping every organization-owned model's
admin shares (this module's included) lives in admin_scoping.py."""

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from .admin_scoping import (
    OrganizationOwnedAdmin,
    OrganizationOwnedForm,
    OrganizationScopedAdmin,
    is_active_superuser,
)
from .models import Membership, Organization, Role, Site
from .time_zones import TimeZoneInput

# What a facility manager sets for their own organization: how long its samples are kept and
# when its realtime values show as stale (its own data and display).
MANAGER_LIMIT_FIELDS = ("sample_retention_days", "realtime_staleness_seconds")
# The quotas that protect the installation (request rate, import volume): only superusers set them.
QUOTA_FIELDS = ("requests_per_minute", "import_points_per_device_day")
LIMIT_FIELDS = (*MANAGER_LIMIT_FIELDS, *QUOTA_FIELDS)
# Permissions that reach past one organization: users and groups, sessions and log entries, role
# definitions, adding and deleting organizations. Only superusers grant roles that carry one.
# (The API permissions are declared on Role too, but grant nothing about roles: they stay grantable.
# Changing an organization is scoped to the member's own, its quotas read-only: facility managers
# hold it, and token administrators grant that role.)
INSTALLATION_PERMISSIONS = Q(content_type__app_label__in=("auth", "admin", "contenttypes", "sessions")) | (
    (
        Q(content_type__app_label="tenancy", content_type__model="role")
        & Q(codename__regex=r"^(add|change|delete)_")
    )
    | Q(content_type__app_label="tenancy", codename__in=("add_organization", "delete_organization"))
)
# What only superusers change on an organization: the installation's quotas, and the slug other
# identifiers (demo client ids, ...) are derived from.
SUPERUSER_FIELDS = ("slug", *QUOTA_FIELDS)
# How many sites the organization page lists by name (the site list has them all).
SITES_SHOWN = 20


def grantable_roles(user):
    """The roles `user` may grant: all for a superuser; for anyone else those without installation
    permissions (INSTALLATION_PERMISSIONS)."""
    roles = Role.objects.all()
    if is_active_superuser(user):
        return roles
    return roles.exclude(permissions__in=Permission.objects.filter(INSTALLATION_PERMISSIONS))


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    """Members with an organization permission see and change their own organizations (name, time
    zone, gateway identity, sample retention and realtime staleness) and reach their sites from
    there; only superusers add or delete organizations or change the slug and the quotas (request
    rate, import volume: the installation's to set)."""

    organization_lookup = "pk"
    list_display = ("name", "slug", "sn", "mac", "time_zone", "member_count", "created_at")
    search_fields = ("name", "slug", "sn", "mac")
    list_filter = ("time_zone", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at", "site_list")
    fieldsets = (
        (None, {"fields": ("id", "name", "slug", "time_zone", "created_at")}),
        ("Sites", {"fields": ("site_list",)}),
        ("Gateway identity (EMS API)", {"fields": ("sn", "mac")}),
        ("Retention and display (empty: the installation's default)", {"fields": MANAGER_LIMIT_FIELDS}),
        ("Quotas, set by the installation's administrators (empty: the default)", {"fields": QUOTA_FIELDS}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if is_active_superuser(request.user) else (*readonly, *SUPERUSER_FIELDS)

    def get_prepopulated_fields(self, request, obj=None):
        # A read-only slug is no form field to fill in.
        return super().get_prepopulated_fields(request, obj) if is_active_superuser(request.user) else {}

    def has_add_permission(self, request):
        return is_active_superuser(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_active_superuser(request.user)

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    @admin.display(description="sites")
    def site_list(self, obj):
        """The organization's sites, each linked to its page, with links to the site list filtered
        to the organization and to adding one (links by URL name: the site admin does the rest,
        permissions and scoping included)."""
        if obj is None or obj.pk is None:
            return "Sites are added once the organization exists."
        sites = list(obj.sites.annotate(device_count=Count("devices")).order_by("name")[: SITES_SHOWN + 1])
        total = obj.sites.count() if len(sites) > SITES_SHOWN else len(sites)
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({}, {} devices)</li>',
            (
                (
                    reverse("admin:tenancy_site_change", args=(site.pk,)),
                    site.name,
                    site.time_zone,
                    site.device_count,
                )
                for site in sites[:SITES_SHOWN]
            ),
        )
        changelist = (
            reverse("admin:tenancy_site_changelist") + "?" + urlencode({"organization__id__exact": obj.pk})
        )
        add = reverse("admin:tenancy_site_add") + "?" + urlencode({"organization": obj.pk})
        return format_html(
            '<ul class="site-list">{}</ul><a href="{}">All {} sites</a> · <a href="{}">Add a site</a>',
            rows,
            changelist,
            total,
            add,
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":
            kwargs["widget"] = TimeZoneInput
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Site)
class SiteAdmin(OrganizationOwnedAdmin):
    """An organization's buildings and places. A new site starts in its organization's time zone."""

    list_display = ("name", "organization", "time_zone", "floor_area", "device_count", "created_at")
    list_select_related = ("organization",)
    search_fields = ("name", "address", "organization__name", "organization__slug")
    list_filter = ("time_zone", "organization")
    readonly_fields = ("id", "created_at")
    fields = ("id", "organization", "name", "time_zone", "floor_area", "address", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(device_count=Count("devices"))

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        organization_id = self.default_organization_id(request)
        if organization_id is None and str(initial.get("organization", "")).isdigit():
            # "Add a site" on an organization's page names it: its time zone, if the user may add there.
            allowed = self.scope_organization_ids(request, "add")
            if allowed is None or int(initial["organization"]) in allowed:
                organization_id = int(initial["organization"])
        if organization_id is not None and "time_zone" not in initial:
            zone = Organization.objects.filter(pk=organization_id).values_list("time_zone", flat=True).first()
            if zone:
                initial["time_zone"] = zone
        return initial

    @admin.display(description="devices", ordering="device_count")
    def device_count(self, obj):
        return obj.device_count

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":
            kwargs["widget"] = TimeZoneInput
        return super().formfield_for_dbfield(db_field, request, **kwargs)


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


class MembershipForm(OrganizationOwnedForm):
    def clean_roles(self):
        """Keep the roles the membership holds that this user may not grant (a superuser gave
        them): they are not among the choices, and leaving a choice out must not revoke them."""
        roles = self.cleaned_data["roles"]
        if self.instance.pk is None:
            return roles
        kept = self.instance.roles.exclude(pk__in=self.fields["roles"].queryset.values("pk"))
        return Role.objects.filter(Q(pk__in=roles.values("pk")) | Q(pk__in=kept.values("pk")))


@admin.register(Membership)
class MembershipAdmin(OrganizationOwnedAdmin):
    """Who holds which roles where. Token administrators grant their organizations' members any
    role but those that reach past the organization (see `grantable_roles`)."""

    form = MembershipForm
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

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else ("user", *readonly)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "roles":
            kwargs.setdefault("queryset", grantable_roles(request.user))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="roles")
    def role_names(self, obj):
        return ", ".join(role.name for role in obj.roles.all())
