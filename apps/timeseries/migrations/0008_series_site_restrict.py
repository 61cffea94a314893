"""A site that still has series is not deleted (RESTRICT, was SET_NULL): the admin lists them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenancy', '0006_sync_roles_sites'),
        ('timeseries', '0007_virtual_series'),
    ]

    operations = [
        migrations.AlterField(
            model_name='series',
            name='site',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='series', to='tenancy.site'),
        ),
    ]
