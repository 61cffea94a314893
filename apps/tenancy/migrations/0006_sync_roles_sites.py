"""Facility managers manage sites and edit their organization's name, time zone and gateway
identity (apps/tenancy/roles.py)."""

import importlib

from django.db import migrations

ship_roles = importlib.import_module("apps.tenancy.migrations.0002_shipped_roles").ship_roles


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0005_site"),
        ("inventory", "0004_device_site"),
        ("timeseries", "0004_series_kind_site"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
