"""An import job that finishes asks for an evaluation by the task's name (imports may not
import alarms): its samples raise their alarms without waiting for beat."""

import numpy as np
import pytest

from apps.alarms.models import Alarm
from apps.imports.services import ImportPoints, VariableRef, import_accept
from tests.factories import UserFactory

from .conftest import T0, ms


@pytest.mark.django_db
def test_a_finished_import_evaluates_the_rules_on_what_it_wrote(
    org, series, make_rule, clock, django_capture_on_commit_callbacks
):
    rule = make_rule(
        kind="threshold", scope="series", series=series, direction="above", limit=100, delay_minutes=0
    )
    clock.at(T0)
    points = ImportPoints(
        variables=[VariableRef(series_id=series.pk)],
        lengths=np.asarray([2], dtype=np.int64),
        ts=np.asarray([ms(T0) - 60_000, ms(T0)], dtype=np.int64),
        values=np.asarray([50.0, 150.0]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_accept(organization=org, user=UserFactory(), dialect="iotorq", points=points)
    job.refresh_from_db()
    assert job.status == "done"
    [alarm] = Alarm.objects.filter(rule=rule)
    assert (alarm.value, alarm.cleared_at) == (150.0, None)
