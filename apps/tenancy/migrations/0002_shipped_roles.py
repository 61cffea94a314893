"""Ship the product's roles (apps/tenancy/roles.py) with their permissions."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def ship_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the roles need them now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)
    from apps.tenancy.services import roles_sync

    roles_sync(
        permission_model=apps.get_model("auth", "Permission"),
        role_model=apps.get_model("tenancy", "Role"),
        skip_missing=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0001_initial"),
        ("access", "0002_initial"),
        ("inventory", "0002_initial"),
        ("timeseries", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
