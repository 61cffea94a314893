"""Reads about organizations and what members may do."""

from .models import Membership


def membership_permissions(*, user, organization) -> set[str]:
    """The permission codenames ("OWN_DEVICES_VIEW", "view_device", ...) the user's roles grant
    in `organization`: one query, whatever the number of roles."""
    if user is None or not user.is_active:
        return set()
    return set(
        Membership.objects.filter(user=user, organization=organization)
        .values_list("roles__permissions__codename", flat=True)
        .exclude(roles__permissions__codename=None)
    )


def user_organizations(*, user):
    """The organizations `user` belongs to."""
    from .models import Organization

    return Organization.objects.filter(memberships__user=user)
