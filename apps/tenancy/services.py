"""Writes for organizations, memberships and roles."""

from django.contrib.auth.models import Permission
from django.db import models, transaction

from apps.core.exceptions import Invalid

from .models import Membership, Organization, Role, Site
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


# How many of a site's users a refusal names, per kind.
SITE_USERS_SHOWN = 10


@transaction.atomic
def site_delete(*, site: Site) -> None:
    """Delete `site`, or raise Invalid naming what still uses it (its devices and series: the
    foreign keys are RESTRICT) and delete nothing. Alarm rules scoped to the site do not hold it
    back: they are disabled (their site becomes empty, apps/alarms)."""
    try:
        site.delete()
    except models.RestrictedError as exc:
        raise Invalid(site_in_use_message(site, exc.restricted_objects), field="site") from exc


def site_in_use_message(site: Site, used_by) -> str:
    """ "Site X is still used by 2 devices (Main meter, EM1) and 1 series (...)": `used_by` are the
    objects holding the site back, as Django's RestrictedError or ProtectedError lists them."""
    by_kind: dict[str, list[str]] = {}
    for obj in used_by:
        by_kind.setdefault(obj._meta.verbose_name_plural, []).append(str(obj))
    parts = []
    for kind, names in sorted(by_kind.items()):
        names.sort()
        shown = ", ".join(names[:SITE_USERS_SHOWN]) + (", ..." if len(names) > SITE_USERS_SHOWN else "")
        parts.append(f"{len(names)} {kind} ({shown})")
    return f"The site {site.name!r} is still used by {' and '.join(parts)}; move or delete them first."
