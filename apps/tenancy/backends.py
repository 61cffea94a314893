"""Django permissions granted by roles, so that a member's roles decide what the admin lets them
see and do (Django itself only knows user and group permissions).

Roles are granted per organization, and so are their permissions: `organization_permissions`
says what a user may do in each of their organizations. The backend answers Django's questions
from it: without an object, "may the user do this somewhere?" (the union over their
organizations, which decides which admin pages exist for them); with an object that belongs to an
organization, "may the user do this there?". Which objects a page shows is decided by the admin's
organization scoping (apps/tenancy/admin_scoping.py), from the same per-organization answer.
"""

from django.contrib.auth import get_backends
from django.contrib.auth.backends import BaseBackend

from .models import Membership, Organization

CACHE_ATTRIBUTE = "_role_organization_perm_cache"
COMBINED_CACHE_ATTRIBUTE = "_organization_perm_cache"


def _role_permissions_by_organization(user_obj) -> dict[int, frozenset[str]]:
    """{organization id: "app_label.codename" of the user's roles there}, one entry for each of the
    user's organizations (empty for a membership without roles). One query, cached on the user
    object for the request, as ModelBackend caches its own."""
    if not hasattr(user_obj, CACHE_ATTRIBUTE):
        by_organization: dict[int, set[str]] = {}
        rows = Membership.objects.filter(user=user_obj).values_list(
            "organization_id", "roles__permissions__content_type__app_label", "roles__permissions__codename"
        )
        for organization_id, app_label, codename in rows:
            perms = by_organization.setdefault(organization_id, set())
            if codename is not None:
                perms.add(f"{app_label}.{codename}")
        setattr(user_obj, CACHE_ATTRIBUTE, {pk: frozenset(perms) for pk, perms in by_organization.items()})
    return getattr(user_obj, CACHE_ATTRIBUTE)


def _user_wide_permissions(user_obj) -> frozenset[str]:
    """The user's own and their groups' Django permissions (ModelBackend's, cached there)."""
    perms: set[str] = set()
    for backend in get_backends():
        if not isinstance(backend, RolePermissionBackend) and hasattr(backend, "get_all_permissions"):
            perms |= backend.get_all_permissions(user_obj)
    return frozenset(perms)


def organization_permissions(user_obj) -> dict[int, frozenset[str]]:
    """What `user_obj` may do in each organization they are a member of: the permissions of their
    roles in that organization, plus their user and group permissions, which are not tied to an
    organization and so hold in each of their organizations (never in one they do not belong to).

    Superusers are not special-cased here: callers that let them see everything say so.
    """
    if user_obj is None or user_obj.is_anonymous or not user_obj.is_active:
        return {}
    if not hasattr(user_obj, COMBINED_CACHE_ATTRIBUTE):
        user_wide = _user_wide_permissions(user_obj)
        by_organization = _role_permissions_by_organization(user_obj)
        combined = {pk: perms | user_wide for pk, perms in by_organization.items()}
        setattr(user_obj, COMBINED_CACHE_ATTRIBUTE, combined)
    return getattr(user_obj, COMBINED_CACHE_ATTRIBUTE)


def organizations_permitting(user_obj, *perms: str) -> list[int] | None:
    """The ids of the organizations where `user_obj` holds any of `perms` ("app_label.codename"),
    ascending; None for an active superuser, who may do anything anywhere. What a page that works
    in one organization at a time offers its user to choose from."""
    if user_obj is not None and user_obj.is_active and user_obj.is_superuser:
        return None
    wanted = set(perms)
    return sorted(pk for pk, held in organization_permissions(user_obj).items() if wanted & held)


def organization_id_of(obj) -> int | None:
    """The organization an object belongs to: itself for an Organization, else its
    `organization_id`; None for objects of no single organization."""
    if isinstance(obj, Organization):
        return obj.pk
    return getattr(obj, "organization_id", None)


class RolePermissionBackend(BaseBackend):
    """Grants the permissions of the roles the user holds.

    Without an object: every permission of every role in any of the user's organizations. With an
    object of an organization: the permissions held in that organization (roles there, plus user
    and group permissions if the user is a member), so a token administrator of one organization
    who is a facility manager of another holds no credential permissions on the second one's
    objects. Authenticates nobody (ModelBackend does).
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if user_obj is None or user_obj.is_anonymous or not user_obj.is_active:
            return set()
        if obj is None:
            return set().union(*_role_permissions_by_organization(user_obj).values())
        organization_id = organization_id_of(obj)
        if organization_id is None:
            return set()
        return set(organization_permissions(user_obj).get(organization_id, ()))

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
