"""Each rule kind opens, updates and clears its alarm as the clock moves (time-machine)."""

from datetime import timedelta

import pytest

from apps.alarms.models import Alarm, AlarmRule, Breach
from apps.alarms.services import alarm_rule_check
from apps.core.exceptions import Invalid
from tests.factories import SeriesFactory, SiteFactory

from .conftest import T0, alarms_of, evaluate, events_of, sample

MIN = timedelta(minutes=1)


@pytest.mark.django_db
def test_no_data_opens_after_the_delay_and_clears_on_the_next_sample(series, make_rule, clock):
    rule = make_rule(kind="no_data", scope="series", series=series, delay_minutes=15, severity="critical")
    clock.at(T0)
    sample(series, T0, 1.0)

    clock.at(T0 + 15 * MIN)
    evaluate()
    assert alarms_of(rule) == []  # exactly the delay: not yet

    clock.at(T0 + 16 * MIN)
    evaluate()
    evaluate()  # idempotent: a second pass changes nothing
    [alarm] = alarms_of(rule)
    assert alarm.cleared_at is None and alarm.severity == "critical" and alarm.value == 1.0
    assert alarm.started_at == T0 + 16 * MIN
    assert alarm.message == "No new sample for 16 minutes"
    assert events_of(rule) == ["opened"]

    clock.at(T0 + 30 * MIN)
    sample(series, T0 + 30 * MIN, 2.0)
    evaluate()
    [alarm] = alarms_of(rule)
    assert alarm.cleared_at == T0 + 30 * MIN
    assert events_of(rule) == ["opened", "cleared"]

    clock.at(T0 + 50 * MIN)
    evaluate()  # stale again: a new alarm, the old one stays history
    assert [a.cleared_at is None for a in alarms_of(rule)] == [False, True]


@pytest.mark.django_db
def test_no_data_on_a_site_opens_one_alarm_per_series_and_skips_series_never_written(org, make_rule, clock):
    site = SiteFactory(organization=org)
    written = [SeriesFactory(organization=org, site=site) for _ in range(3)]
    SeriesFactory(organization=org, site=site)  # never had a sample: not watched
    SeriesFactory(organization=org)  # another site's (none): not in scope
    rule = make_rule(kind="no_data", scope="site", site=site, delay_minutes=5)
    clock.at(T0)
    for s in written:
        sample(s, T0, 1.0)
    clock.at(T0 + 6 * MIN)
    evaluate()
    assert sorted(a.series_id for a in alarms_of(rule)) == sorted(s.pk for s in written)


@pytest.mark.django_db
def test_threshold_waits_the_delay_updates_and_clears_past_the_hysteresis(series, make_rule, clock):
    rule = make_rule(
        kind="threshold",
        scope="series",
        series=series,
        direction="above",
        limit=50,
        hysteresis=5,
        delay_minutes=10,
    )
    clock.at(T0)
    sample(series, T0, 60)
    evaluate()
    assert alarms_of(rule) == []
    assert Breach.objects.filter(rule=rule).count() == 1

    clock.at(T0 + 5 * MIN)
    sample(series, T0 + 5 * MIN, 61)
    evaluate()
    assert alarms_of(rule) == []

    clock.at(T0 + 10 * MIN)
    evaluate()  # no new sample: the breach's delay ran out
    [alarm] = alarms_of(rule)
    assert (alarm.value, alarm.started_at, alarm.cleared_at) == (61, T0 + 10 * MIN, None)

    clock.at(T0 + 11 * MIN)
    sample(series, T0 + 11 * MIN, 70)
    evaluate()
    alarm.refresh_from_db()
    assert (alarm.value, alarm.updated_at) == (70, T0 + 11 * MIN)

    clock.at(T0 + 12 * MIN)
    sample(series, T0 + 12 * MIN, 47)  # below the limit, not past the hysteresis (45)
    evaluate()
    alarm.refresh_from_db()
    assert (alarm.value, alarm.cleared_at) == (47, None)

    clock.at(T0 + 13 * MIN)
    sample(series, T0 + 13 * MIN, 45)
    evaluate()
    alarm.refresh_from_db()
    assert (alarm.value, alarm.cleared_at) == (47, T0 + 13 * MIN)
    assert Breach.objects.filter(rule=rule).count() == 0
    assert events_of(rule) == ["opened", "cleared"]


@pytest.mark.django_db
def test_threshold_below_a_limit_that_recovers_before_the_delay_never_opens(series, make_rule, clock):
    rule = make_rule(
        kind="threshold", scope="series", series=series, direction="below", limit=10, delay_minutes=5
    )
    clock.at(T0)
    sample(series, T0, 5)
    evaluate()
    clock.at(T0 + 3 * MIN)
    sample(series, T0 + 3 * MIN, 12)
    evaluate()
    clock.at(T0 + 10 * MIN)
    evaluate()
    assert alarms_of(rule) == []
    assert Breach.objects.filter(rule=rule).count() == 0


@pytest.mark.django_db
def test_threshold_of_a_kind_watches_only_the_series_written_since_the_last_pass(org, make_rule, clock):
    hot, quiet = SeriesFactory(organization=org), SeriesFactory(organization=org)
    rule = make_rule(
        kind="threshold", scope="kind", series_kind="measurement", direction="above", limit=0, delay_minutes=0
    )
    clock.at(T0)
    evaluate()  # marks every series as seen
    sample(hot, T0, 5)
    evaluate()
    assert [a.series_id for a in alarms_of(rule)] == [hot.pk]
    assert quiet.pk not in Breach.objects.values_list("series_id", flat=True)


@pytest.mark.django_db
def test_a_rule_whose_series_is_deleted_is_disabled_and_its_alarm_cleared(org, make_rule, clock):
    doomed, other = SeriesFactory(organization=org), SeriesFactory(organization=org)
    rule = make_rule(kind="no_data", scope="series", series=doomed, delay_minutes=1)
    healthy = make_rule(kind="no_data", scope="series", series=other, delay_minutes=1)
    clock.at(T0)
    sample(doomed, T0, 1)
    sample(other, T0, 1)
    doomed.delete()
    clock.at(T0 + 5 * MIN)
    evaluate()
    rule.refresh_from_db()
    assert (rule.enabled, rule.disabled_reason) == (False, "Its series or site was deleted.")
    assert len(alarms_of(healthy)) == 1


@pytest.mark.django_db
def test_disabling_a_rule_clears_its_open_alarms(series, make_rule, clock):
    rule = make_rule(kind="no_data", scope="series", series=series, delay_minutes=1)
    clock.at(T0)
    sample(series, T0, 1)
    clock.at(T0 + 5 * MIN)
    evaluate()
    AlarmRule.objects.filter(pk=rule.pk).update(enabled=False)
    clock.at(T0 + 6 * MIN)
    evaluate()
    assert [a.cleared_at for a in alarms_of(rule)] == [T0 + 6 * MIN]


@pytest.mark.django_db
def test_one_open_alarm_per_rule_and_series_is_a_database_constraint(series, make_rule, clock):
    from django.db import IntegrityError, transaction

    rule = make_rule(kind="no_data", scope="series", series=series)
    fields = {"organization": series.organization, "rule": rule, "series": series, "severity": "major"}
    Alarm.objects.create(**fields, started_at=T0, updated_at=T0, message="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alarm.objects.create(**fields, started_at=T0, updated_at=T0, message="y")
    Alarm.objects.create(**fields, started_at=T0, updated_at=T0, cleared_at=T0, message="history")


@pytest.mark.django_db
def test_a_new_threshold_rule_looks_at_its_series_at_once_written_lately_or_not(series, make_rule, clock):
    clock.at(T0)
    sample(series, T0, 80)
    evaluate()  # the series is seen: not "written since" at the next pass
    clock.at(T0 + MIN)
    rule = make_rule(
        kind="threshold", scope="series", series=series, direction="above", limit=50, delay_minutes=0
    )
    evaluate()
    assert [a.value for a in alarms_of(rule)] == [80]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scope": "series"}, "A rule on one series names the series."),
        ({"scope": "site"}, "A rule on a site names the site."),
        ({"scope": "kind"}, "A rule on all series of a kind names the kind."),
        (
            {"scope": "series", "virtual": True},
            "A virtual series has no samples of its own: watch its sources.",
        ),
        ({"scope": "series", "kind": "threshold"}, "A threshold rule has a limit."),
    ],
)
def test_a_rule_that_could_not_be_evaluated_is_refused(org, fields, message):
    fields = dict(fields)
    if fields.pop("virtual", False):
        fields["series"] = SeriesFactory(organization=org, kind="virtual")
    elif fields.get("kind") == "threshold":
        fields["series"] = SeriesFactory(organization=org)
    fields.setdefault("kind", "no_data")
    rule = AlarmRule(organization=org, name="r", **fields)

    with pytest.raises(Invalid) as refused:
        alarm_rule_check(rule)

    assert refused.value.message == message
