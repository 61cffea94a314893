"""Facility managers set their organization's sample retention and realtime staleness (not its
quotas): the shipped role's description says so (apps/tenancy/roles.py)."""

import importlib

from django.db import migrations

ship_roles = importlib.import_module("apps.tenancy.migrations.0002_shipped_roles").ship_roles


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0006_sync_roles_sites"),
        ("inventory", "0005_device_site_restrict"),
        ("timeseries", "0008_series_site_restrict"),
        ("alarms", "0002_sync_roles_alarms"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
