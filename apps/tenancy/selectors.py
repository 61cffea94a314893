"""Reads about organizations and what members may do."""

from django.contrib.auth.models import Permission


def membership_permissions(*, user, organization) -> set[str]:
    """The permission codenames ("OWN_DEVICES_VIEW", "view_device", ...) the user's roles grant
    in `organization`: one query, whatever the number of roles."""
    if user is None or not user.is_active:
        return set()
    # Joined from the permissions' side: plain inner joins, no NOT EXISTS subquery for the
    # roles without permissions (this runs on every request of a user-scoped credential).
    return set(
        Permission.objects.filter(
            ems_roles__memberships__user=user, ems_roles__memberships__organization=organization
        )
        .order_by()  # Permission orders by content type: a join the set does not need
        .values_list("codename", flat=True)
    )


def user_organizations(*, user):
    """The organizations `user` belongs to."""
    from .models import Organization

    return Organization.objects.filter(memberships__user=user)
