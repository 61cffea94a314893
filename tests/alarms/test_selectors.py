from datetime import timedelta

import pytest

from apps.alarms.models import Alarm
from apps.alarms.selectors import alarm_markers, alarms_active_counts, alarms_active_newest
from tests.factories import SeriesFactory

from .conftest import T0

H = timedelta(hours=1)


def _alarm(rule, series, started, cleared=None, severity="major"):
    return Alarm.objects.create(
        organization=rule.organization, rule=rule, series=series, severity=severity, started_at=started,
        updated_at=started, cleared_at=cleared, message="m",
    )  # fmt: skip


@pytest.mark.django_db
def test_active_counts_newest_and_chart_markers(org, other_org, series, make_rule):
    rule = make_rule(kind="no_data", scope="kind", series_kind="measurement")
    other = SeriesFactory(organization=org)
    theirs = make_rule(organization=other_org, kind="no_data", scope="kind", series_kind="measurement")
    old = _alarm(rule, series, T0, cleared=T0 + H)
    newer = _alarm(rule, series, T0 + 2 * H, severity="critical")
    newest = _alarm(rule, other, T0 + 3 * H)
    _alarm(theirs, SeriesFactory(organization=other_org), T0)

    assert alarms_active_counts(organization_ids=[org.pk]) == {
        "critical": 1,
        "major": 1,
        "minor": 0,
        "warning": 0,
    }
    assert alarms_active_counts(organization_ids=None)["major"] == 2
    assert alarms_active_newest(organization_ids=[org.pk]) == [newest, newer]
    assert alarm_markers(series_id=series.pk, start=T0, end=T0 + 3 * H) == [
        (T0, "opened", old),
        (T0 + H, "cleared", old),
        (T0 + 2 * H, "opened", newer),
    ]
    assert alarm_markers(series_id=series.pk, start=T0 + H / 2, end=T0 + 2 * H) == [(T0 + H, "cleared", old)]
