"""Facility managers see a device's Blynk import quota use (apps/tenancy/roles.py)."""

import importlib

from django.db import migrations

ship_roles = importlib.import_module("apps.tenancy.migrations.0002_shipped_roles").ship_roles


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_sync_roles_import_jobs"),
        ("inventory", "0003_device_import_day"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
