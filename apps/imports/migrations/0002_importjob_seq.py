from django.db import migrations, models

# Jobs accepted before the write order existed and not finished yet are accepted now, in the
# order they were created: each takes an acceptance number and marks its series pending, as
# apps/timeseries/write_order.py's write_accept does (spelled out here, as it is at this state of
# the schema).


def accept_unfinished_jobs(apps, schema_editor):
    ImportJob = apps.get_model("imports", "ImportJob")
    Series = apps.get_model("timeseries", "Series")
    PendingWrite = apps.get_model("timeseries", "PendingWrite")
    connection = schema_editor.connection
    for job in ImportJob.objects.filter(status__in=["queued", "running"], seq=None).order_by("created_at"):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval('timeseries_write_seq')")
            else:
                cursor.execute(
                    "INSERT INTO timeseries_write_seq (id, value) VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET value = value + 1 RETURNING value"
                )
            seq = cursor.fetchone()[0]
        series_ids = list(Series.objects.filter(pk__in=job.series_ids).values_list("pk", flat=True))
        PendingWrite.objects.bulk_create([PendingWrite(series_id=pk, seq=seq) for pk in series_ids])
        Series.objects.filter(pk__in=series_ids, pending_seq=None).update(pending_seq=seq)
        ImportJob.objects.filter(pk=job.pk).update(seq=seq)


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("timeseries", "0003_write_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="seq",
            field=models.BigIntegerField(
                blank=True,
                editable=False,
                help_text="Acceptance number: the job's points lose to writes of the same sample accepted after it.",
                null=True,
                verbose_name="acceptance number",
            ),
        ),
        migrations.RunPython(accept_unfinished_jobs, migrations.RunPython.noop),
    ]
