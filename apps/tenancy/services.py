"""Writes for organizations, memberships and roles."""

from django.contrib.auth.models import Permission
from django.db import transaction

from .models import Membership, Organization, Role
from .roles import SHIPPED_ROLES


def roles_sync(*, permission_model=Permission, role_model=Role, skip_missing: bool = False) -> list[Role]:
    """Create or update the shipped roles so that each carries exactly its listed permissions.

    The model arguments let a data migration pass its historical models. A migration also passes
    `skip_missing`: a permission of an app not migrated yet is left out there and added by the
    later migration that syncs the roles again.
    """
    roles = []
    for slug, (name, description, perm_names) in SHIPPED_ROLES.items():
        role, _ = role_model.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )
        perms = []
        for perm_name in perm_names:
            app_label, codename = perm_name.split(".", 1)
            perm = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None and not skip_missing:
                raise permission_model.DoesNotExist(f"permission {perm_name} does not exist")
            if perm is not None:
                perms.append(perm)
        role.permissions.set(perms)
        roles.append(role)
    return roles


@transaction.atomic
def membership_grant(*, user, organization: Organization, role_slugs: list[str]) -> Membership:
    """Make `user` a member of `organization` holding (at least) the named roles."""
    membership, _ = Membership.objects.get_or_create(user=user, organization=organization)
    membership.roles.add(*Role.objects.filter(slug__in=role_slugs))
    return membership
