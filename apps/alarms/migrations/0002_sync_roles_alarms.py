"""Facility managers manage alarm rules, recipients and webhooks, and see and acknowledge
alarms (apps/tenancy/roles.py)."""

import importlib

from django.db import migrations

ship_roles = importlib.import_module("apps.tenancy.migrations.0002_shipped_roles").ship_roles


class Migration(migrations.Migration):
    dependencies = [
        ("alarms", "0001_initial"),
        ("tenancy", "0006_sync_roles_sites"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
