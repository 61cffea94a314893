from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from apps.alarms.models import Alarm
from apps.alarms.services import alarms_expire

from .conftest import T0


def _alarm(rule, series, *, cleared_days_ago=None):
    started = T0 - timedelta(days=400)
    cleared = None if cleared_days_ago is None else T0 - timedelta(days=cleared_days_ago)
    return Alarm.objects.create(
        organization=rule.organization, rule=rule, series=series, severity="major", started_at=started,
        updated_at=started, cleared_at=cleared, message="m",
    )  # fmt: skip


@pytest.mark.django_db
def test_cleared_alarms_older_than_the_retention_are_deleted_active_ones_never(series, make_rule, settings):
    settings.ALARM_RETENTION_DAYS = 365
    rule = make_rule(kind="no_data", scope="series", series=series)
    _alarm(rule, series, cleared_days_ago=366)
    kept = [_alarm(rule, series, cleared_days_ago=364), _alarm(rule, series)]
    assert alarms_expire(now=T0) == 1
    assert sorted(Alarm.objects.values_list("pk", flat=True)) == sorted(a.pk for a in kept)

    settings.ALARM_RETENTION_DAYS = 0
    assert alarms_expire(now=T0 + timedelta(days=1000)) == 0


def test_beat_evaluates_every_minute_and_expires_hourly():
    schedule = {entry["task"]: entry["schedule"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert (schedule["alarms.evaluate"], schedule["alarms.expire"]) == (60, 3600)
