"""The base every organization-owned model's admin shares: it owns tenant scoping, so that an
admin cannot forget it.

A subclass of `OrganizationScopedAdmin` says where its objects' organization is
(`organization_lookup`, "organization" unless told) and the base does the rest for a user who is
not a superuser, in the organizations where their roles grant the permission at hand:

- `get_queryset` keeps the objects of the organizations where the user may view (or change) the
  model. Changelists, search, date hierarchy, actions, autocomplete and `get_object` (change,
  delete and history pages, the chart JSON) all go through it, so another organization's id is
  "not found";
- `has_view/change/delete_permission(request, obj)` check the object's own organization, so a
  token administrator of A who is only a facility manager of B cannot revoke B's tokens;
- foreign-key and many-to-many choices (selects, raw id inputs and their labels) offer only the
  objects of the user's organizations: devices, loads, series, partitions, products..., users
  through their memberships;
- list filters on those relations offer only the user's objects; actions act only on objects of
  organizations where the user holds the action's permission;
- `OrganizationOwnedAdmin` also fixes the organization of an object once created, and sets it
  (hidden) on new objects when the user may add them in exactly one organization.

Superusers see everything, with an organization filter on every changelist.
"""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.urls import NoReverseMatch, reverse
from django.utils.text import Truncator

from apps.core.text import holds_nul

from .backends import organization_id_of, organizations_permitting
from .models import Membership, Organization

STANDARD_ACTIONS = ("add", "change", "delete", "view")


def is_active_superuser(user) -> bool:
    return user.is_active and user.is_superuser


def admin_organizations(request, perms: tuple[str, ...]):
    """The organizations where the user holds every one of `perms` ("app_label.codename"), by
    the roles granted there (as the admins' scoping reads them: `organizations_permitting`); a
    superuser: all of them. What an admin page that works in one organization (a CSV upload)
    offers to choose from; a page with none to offer answers 403."""
    if is_active_superuser(request.user):
        return Organization.objects.all()
    held = [set(organizations_permitting(request.user, perm)) for perm in perms]
    return Organization.objects.filter(pk__in=set.intersection(*held) if held else ())


def _belongs_to_organizations(model) -> bool:
    try:
        field = model._meta.get_field("organization")
    except FieldDoesNotExist:
        return False
    return field.many_to_one and field.related_model is Organization


def scoped_choices(queryset, organization_ids):
    """`queryset` limited to what belongs to `organization_ids`: the organizations themselves, the
    users who are members of them, the objects of a model with an `organization`. None for a
    model of no organization (roles, ...), whose choices stay as they are."""
    model = queryset.model
    if model is Organization:
        return queryset.filter(pk__in=organization_ids)
    if model is get_user_model():
        members = Membership.objects.filter(organization__in=organization_ids).values("user")
        return queryset.filter(pk__in=members)
    if _belongs_to_organizations(model):
        return queryset.filter(organization__in=organization_ids)
    return None


class ScopedForeignKeyRawIdWidget(ForeignKeyRawIdWidget):
    """A raw id input that names only objects the user may choose: typing another organization's
    id must not reveal that object's name beside the input."""

    def __init__(self, rel, admin_site, *, queryset, attrs=None, using=None):
        super().__init__(rel, admin_site, attrs=attrs, using=using)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            obj = self.queryset.using(self.db).get(**{key: value})
        except (ValueError, self.queryset.model.DoesNotExist, ValidationError):
            return "", ""
        opts = obj._meta
        try:
            url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))
        except NoReverseMatch:
            url = ""
        return Truncator(obj).words(14), url


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A list filter on a relation that offers only the objects of the user's organizations."""

    def field_choices(self, field, request, model_admin):
        organization_ids = model_admin.scope_organization_ids(request, "view", "change")
        related = scoped_choices(field.related_model._default_manager.all(), organization_ids or [])
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": related.values("pk")}, ordering=ordering
        )


def _without_field(fieldsets, name: str) -> list:
    result = []
    for title, options in fieldsets:
        fields = []
        for field in options.get("fields", ()):
            if isinstance(field, (list, tuple)):
                line = tuple(f for f in field if f != name)
                if line:
                    fields.append(line)
            elif field != name:
                fields.append(field)
        result.append((title, {**options, "fields": tuple(fields)}))
    return result


class OrganizationOwnedForm(forms.ModelForm):
    """A form for a model with an `organization` that refuses links to another organization's
    objects (a load on another organization's device, a series of another tenant, ...).

    Once the instance has its organization (a change page, or `default_organization_id` set by
    the admin for a user of one organization), the choices of related objects are those of that
    organization. The organization is not a form field then, which would make Django skip every
    constraint that includes it, such as (organization, uid); it is validated anyway. JSON fields
    may not hold a NUL character (see apps.core.text).
    """

    default_organization_id: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.organization_id is None and self.default_organization_id is not None:
            self.instance.organization_id = self.default_organization_id
        if self.instance.organization_id is not None:
            self.limit_choices_to_organization(self.instance.organization_id)

    def limit_choices_to_organization(self, organization_id: int) -> None:
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is None or queryset.model is Organization:
                continue
            narrowed = scoped_choices(queryset, [organization_id])
            if narrowed is not None:
                field.queryset = narrowed

    def _organization_id(self):
        organization = self.cleaned_data.get("organization")
        return organization.pk if organization is not None else self.instance.organization_id

    def clean(self):
        cleaned_data = super().clean()
        for name, field in self.fields.items():
            # Form CharFields refuse a NUL themselves; JSON text may still hold "\u0000", which
            # jsonb cannot store (a 500 on PostgreSQL, see apps.core.text).
            if isinstance(field, forms.JSONField) and holds_nul(cleaned_data.get(name)):
                self.add_error(name, "This may not contain the NUL character (U+0000).")
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
                and _belongs_to_organizations(value.model)
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
        if self.instance.organization_id is not None and isinstance(form, OrganizationOwnedForm):
            form.limit_choices_to_organization(self.instance.organization_id)


class OrganizationScopeMixin:
    """Tenant scoping for a ModelAdmin or an inline (see the module docstring)."""

    # Where an object's organization is, as a lookup: "organization", "client__organization",
    # "pk" for organizations themselves.
    organization_lookup = "organization"

    def scope_organization_ids(self, request, *actions: str) -> list[int] | None:
        """The organizations where the user may do any of `actions` ("view", "change", ...) to
        this admin's model; None when unlimited (a superuser)."""
        opts = self.opts
        perms = (f"{opts.app_label}.{get_permission_codename(action, opts)}" for action in actions)
        return organizations_permitting(request.user, *perms)

    def scope_queryset(self, request, queryset, actions=("view", "change")):
        organization_ids = self.scope_organization_ids(request, *actions)
        if organization_ids is None:
            return queryset
        return queryset.filter(**{f"{self.organization_lookup}__in": organization_ids})

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def organization_id_of(self, obj) -> int | None:
        *path, last = self.organization_lookup.split("__")
        if not path and last == "pk":
            return obj.pk
        for name in path:
            obj = getattr(obj, name)
            if obj is None:
                return None
        return getattr(obj, f"{last}_id")

    def may(self, request, obj, *actions: str) -> bool:
        """Whether the user may do any of `actions` in `obj`'s organization."""
        organization_ids = self.scope_organization_ids(request, *actions)
        return organization_ids is None or self.organization_id_of(obj) in organization_ids

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or self.may(request, obj, "view", "change")
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or self.may(request, obj, "change")
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or self.may(request, obj, "delete")
        )

    def scoped_field_queryset(self, db_field, request, using=None):
        """The choices of a relation for this user, or None to leave them to Django. The
        organization itself is chosen among those where the user may add the object."""
        actions = ("add",) if db_field.related_model is Organization else ("add", "change")
        organization_ids = self.scope_organization_ids(request, *actions)
        if organization_ids is None:
            return None
        queryset = self.get_field_queryset(using, db_field, request)
        if queryset is None:
            queryset = db_field.related_model._default_manager.using(using).all()
        return scoped_choices(queryset, organization_ids)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_field_queryset(db_field, request, kwargs.get("using"))
            if queryset is not None:
                kwargs["queryset"] = queryset
                if "widget" not in kwargs and db_field.name in self.raw_id_fields:
                    kwargs["widget"] = ScopedForeignKeyRawIdWidget(
                        db_field.remote_field, self.admin_site, queryset=queryset, using=kwargs.get("using")
                    )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_field_queryset(db_field, request, kwargs.get("using"))
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrganizationScopedAdmin(OrganizationScopeMixin, admin.ModelAdmin):
    """Base of every admin of objects that belong to an organization (see the module docstring)."""

    def _relation_to_organizations(self, path: str) -> bool:
        field = get_fields_from_path(self.model, path)[-1]
        return field.is_relation and (
            field.related_model in (Organization, get_user_model())
            or _belongs_to_organizations(field.related_model)
        )

    def get_list_filter(self, request):
        list_filter = list(super().get_list_filter(request))
        organization_ids = self.scope_organization_ids(request, "view", "change")
        paths = [
            entry if isinstance(entry, str) else entry[0] if isinstance(entry, (list, tuple)) else None
            for entry in list_filter
        ]
        if organization_ids is None:
            if self.organization_lookup != "pk" and self.organization_lookup not in paths:
                list_filter.append(self.organization_lookup)
            return list_filter
        scoped = []
        for entry, path in zip(list_filter, paths, strict=True):
            if path == self.organization_lookup and len(organization_ids) < 2:
                continue  # a member of one organization has nothing to filter by
            if isinstance(entry, str) and self._relation_to_organizations(entry):
                entry = (entry, ScopedRelatedFieldListFilter)
            scoped.append(entry)
        return scoped

    def get_actions(self, request):
        actions = super().get_actions(request)
        if is_active_superuser(request.user):
            return actions
        return {name: (self._scoped_action(func), name, text) for name, (func, _, text) in actions.items()}

    @staticmethod
    def _scoped_action(func):
        """`func` acting only on the selected objects of organizations where the user holds the
        action's permissions (a custom one, such as "retry", counts as changing the objects)."""
        allowed = getattr(func, "allowed_permissions", ())
        if not allowed:
            return func
        actions = tuple(action if action in STANDARD_ACTIONS else "change" for action in allowed)

        @wraps(func)
        def scoped(modeladmin, request, queryset):
            return func(modeladmin, request, modeladmin.scope_queryset(request, queryset, actions))

        return scoped


class OrganizationOwnedAdmin(OrganizationScopedAdmin):
    """Base of the admins of organization-owned models that people create: the organization is
    chosen when an object is added (among those where the user may add it; set and hidden when
    there is one) and fixed afterwards (its children and series would otherwise straddle
    tenants)."""

    form = OrganizationOwnedForm

    def default_organization_id(self, request) -> int | None:
        organization_ids = self.scope_organization_ids(request, "add")
        return organization_ids[0] if organization_ids is not None and len(organization_ids) == 1 else None

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else ("organization", *readonly)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and self.default_organization_id(request) is not None:
            return _without_field(fieldsets, "organization")
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        organization_id = None if obj is not None else self.default_organization_id(request)
        if organization_id is not None:
            form = type(form.__name__, (form,), {"default_organization_id": organization_id})
        return form


class OrganizationOwnedInline(OrganizationScopeMixin, admin.TabularInline):
    """An inline of objects of the parent's organization; permissions are checked in the parent's
    organization."""

    form = OrganizationOwnedForm
    formset = OrganizationInlineFormSet
    extra = 0
    show_change_link = True

    def organization_id_of(self, obj) -> int | None:
        return organization_id_of(obj)  # `obj` is the parent object

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and (obj is None or self.may(request, obj, "add"))
