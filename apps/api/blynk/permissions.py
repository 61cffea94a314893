"""The Blynk permission model (API.md §2) for user-scoped access tokens.

Organization-level tokens hold every permission (Principal.permissions is None). A user token
holds the user's role permissions as they are at each request:

- OWN_DEVICES_VIEW: the devices the user owns; ORG_DEVICES_VIEW: every device of the organization.
  Every endpoint needs one of the two; a device outside the view is answered like a missing one.
- ORG_DEVICES_CONTROL: write current values and widget properties (and product batch updates).
- ORG_DEVICE_DATA_IMPORT: import history.

A missing permission is a 403, checked before anything about the request's devices is looked up.
"""

from apps.access.principal import Principal
from apps.core.exceptions import PermissionDenied

OWN_DEVICES_VIEW = "OWN_DEVICES_VIEW"
ORG_DEVICES_VIEW = "ORG_DEVICES_VIEW"
ORG_DEVICES_CONTROL = "ORG_DEVICES_CONTROL"
ORG_DEVICE_DATA_IMPORT = "ORG_DEVICE_DATA_IMPORT"


def device_owner_scope(principal: Principal, *required: str):
    """Check `required` and a view permission; return the user whose devices the caller is
    limited to, or None when it may see every device of its organization."""
    for codename in required:
        if not principal.has_permission(codename):
            raise PermissionDenied(f"The {codename} permission is required.", field="permission")
    if principal.has_permission(ORG_DEVICES_VIEW):
        return None
    if principal.has_permission(OWN_DEVICES_VIEW):
        return principal.user
    raise PermissionDenied(
        f"The {OWN_DEVICES_VIEW} or {ORG_DEVICES_VIEW} permission is required.", field="permission"
    )
