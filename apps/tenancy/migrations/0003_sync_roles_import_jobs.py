"""Bring the shipped roles up to date with apps/tenancy/roles.py: facility managers follow and
retry import jobs. Every change of roles.py ships with a migration like this one."""

import importlib

from django.db import migrations

ship_roles = importlib.import_module("apps.tenancy.migrations.0002_shipped_roles").ship_roles


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_shipped_roles"),
        ("imports", "0001_initial"),
    ]

    operations = [migrations.RunPython(ship_roles, migrations.RunPython.noop)]
