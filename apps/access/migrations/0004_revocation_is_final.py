"""Revocations and uses of credentials are recorded once: a trigger refuses to clear or move
`revoked_at` of an OAuth client or API token, or `used_at` of a refresh token, once set.

In the database rather than in Python so that no path (the admin, a queryset update, bulk_update,
raw SQL, the shell) can bring a credential back. On SQLite, Django remakes a table to alter it,
which drops its triggers: a later migration altering these tables must recreate them
(tests/access/test_revocation.py fails otherwise).
"""

from django.db import migrations

GUARDED = [
    ("access_oauthclient", "revoked_at"),
    ("access_apitoken", "revoked_at"),
    ("access_refreshtoken", "used_at"),
]

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION access_recorded_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is recorded once and never changed', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""

POSTGRESQL_TRIGGER = """
CREATE TRIGGER {table}_{column}_final BEFORE UPDATE OF {column} ON {table}
FOR EACH ROW WHEN (OLD.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column})
EXECUTE FUNCTION access_recorded_once('{column}')
"""

SQLITE_TRIGGER = """
CREATE TRIGGER {table}_{column}_final BEFORE UPDATE OF {column} ON {table}
FOR EACH ROW WHEN OLD.{column} IS NOT NULL AND NEW.{column} IS NOT OLD.{column}
BEGIN SELECT RAISE(ABORT, '{table}.{column} is recorded once and never changed'); END
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FUNCTION, params=None)
        template = POSTGRESQL_TRIGGER
    elif vendor == "sqlite":
        template = SQLITE_TRIGGER
    else:
        raise NotImplementedError(f"no revocation triggers for {vendor}")
    for table, column in GUARDED:
        schema_editor.execute(template.format(table=table, column=column))


def drop_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for table, column in GUARDED:
        on_table = f" ON {table}" if postgresql else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{column}_final{on_table}")
    if postgresql:
        schema_editor.execute("DROP FUNCTION IF EXISTS access_recorded_once()")


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_refreshtoken_credentials"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
