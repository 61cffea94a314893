"""Django permissions granted by roles, so that a member's roles decide what the admin lets them
see and do (Django itself only knows user and group permissions)."""

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission


class RolePermissionBackend(BaseBackend):
    """Grants every permission of every role the user holds, in any of their organizations.

    Authenticates nobody (ModelBackend does). Results are cached on the user object for the
    request, as ModelBackend caches its own.
    """

    cache_attribute = "_role_perm_cache"

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, self.cache_attribute):
            perms = (
                Permission.objects.filter(ems_roles__memberships__user=user_obj)
                .values_list("content_type__app_label", "codename")
                .distinct()
            )
            setattr(user_obj, self.cache_attribute, {f"{app}.{codename}" for app, codename in perms})
        return getattr(user_obj, self.cache_attribute)

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
