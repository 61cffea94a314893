"""A site that still has devices is not deleted (RESTRICT, was SET_NULL): the admin lists them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0004_device_site'),
        ('tenancy', '0006_sync_roles_sites'),
    ]

    operations = [
        migrations.AlterField(
            model_name='device',
            name='site',
            field=models.ForeignKey(blank=True, help_text="The series created for the device's signals and datastreams take this site.", null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='devices', to='tenancy.site'),
        ),
    ]
