from django.db import migrations, models

# SQLite adds a column by rebuilding the table, which drops the table's triggers: the one that
# deletes a deleted series' samples (0001_initial) is created again after the rebuild, in either
# direction. PostgreSQL adds the column in place and keeps its trigger.
SQLITE_TRIGGER = """
    CREATE TRIGGER IF NOT EXISTS timeseries_series_delete_samples AFTER DELETE ON timeseries_series
    FOR EACH ROW BEGIN DELETE FROM timeseries_sample WHERE series_id = OLD.id; END
"""


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("timeseries", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_trigger),
        migrations.AddField(
            model_name="series",
            name="revision",
            field=models.BigIntegerField(
                db_default=0,
                editable=False,
                help_text="Counts the changes to the series' samples; keys what is cached about them.",
            ),
        ),
        migrations.RunPython(restore_sqlite_trigger, migrations.RunPython.noop),
    ]
