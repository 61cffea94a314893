"""The alarm pages of the admin: the list with its filters, bulk acknowledge with a comment,
rules and webhooks refused when they cannot work, and another organization's alarms unseen."""

from datetime import timedelta

import pytest
from django.urls import reverse

from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, Webhook
from tests.factories import SeriesFactory, SiteFactory

from .conftest import T0

LIST = reverse("admin:alarms_alarm_changelist")


def _alarm(rule, series, *, minutes=0, cleared=False, **fields):
    started = T0 + timedelta(minutes=minutes)
    return Alarm.objects.create(
        organization=rule.organization,
        rule=rule,
        series=series,
        severity=fields.pop("severity", rule.severity),
        started_at=started,
        updated_at=started,
        cleared_at=started + timedelta(minutes=5) if cleared else None,
        message=fields.pop("message", "No new sample for 16 minutes"),
        **fields,
    )


@pytest.fixture
def alarms(org, other_org, make_rule):
    site = SiteFactory(organization=org, name="Plant")
    on_site = SeriesFactory(organization=org, site=site, name="Plant meter")
    elsewhere = SeriesFactory(organization=org, name="Office meter")
    quiet = make_rule(
        kind="no_data", scope="kind", series_kind="measurement", name="Quiet", severity="critical"
    )
    hot = make_rule(
        kind="threshold",
        scope="series",
        series=elsewhere,
        name="Hot",
        direction="above",
        limit=1,
        severity="minor",
    )
    theirs = make_rule(
        organization=other_org, kind="no_data", scope="kind", series_kind="measurement", name="Their rule"
    )
    return {
        "plant": _alarm(quiet, on_site, minutes=1),
        "office": _alarm(hot, elsewhere, minutes=2, message="Office too hot"),
        "old": _alarm(quiet, elsewhere, minutes=0, cleared=True),
        "theirs": _alarm(theirs, SeriesFactory(organization=other_org), minutes=3, message="Their alarm"),
        "site": site,
        "on_site": on_site,
        "quiet": quiet,
    }


def _messages(response) -> list[str]:
    return [alarm.message for alarm in response.context["cl"].result_list]


@pytest.mark.django_db
def test_the_alarm_list_shows_the_organizations_alarms_newest_first_and_not_anothers(manager_client, alarms):
    response = manager_client.get(LIST)
    assert response.status_code == 200
    assert _messages(response) == [
        "Office too hot",
        "No new sample for 16 minutes",
        "No new sample for 16 minutes",
    ]
    assert b"Their alarm" not in response.content
    theirs = reverse("admin:alarms_alarm_change", args=[alarms["theirs"].pk])
    assert manager_client.get(theirs).status_code == 302  # "not found" for the admin: to the index


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=critical", 2),
        ("state=active", 2),
        ("state=cleared", 1),
        ("acknowledged=no", 3),
        ("acknowledged=yes", 0),
    ],
)
def test_the_alarm_list_filters(manager_client, alarms, query, expected):
    response = manager_client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == expected


@pytest.mark.django_db
def test_the_alarm_list_filters_by_site_rule_and_series(manager_client, alarms):
    by_site = manager_client.get(f"{LIST}?site={alarms['site'].pk}")
    assert [a.pk for a in by_site.context["cl"].result_list] == [alarms["plant"].pk]
    by_rule = manager_client.get(f"{LIST}?rule={alarms['quiet'].pk}")
    assert {a.pk for a in by_rule.context["cl"].result_list} == {alarms["plant"].pk, alarms["old"].pk}
    by_series = manager_client.get(f"{LIST}?series={alarms['on_site'].pk}")
    assert [a.pk for a in by_series.context["cl"].result_list] == [alarms["plant"].pk]
    assert b"Plant meter" in by_series.content  # the chosen series is named in the filter


@pytest.mark.django_db
def test_the_rule_filter_offers_the_organizations_rules_with_active_alarms(manager_client, alarms, make_rule):
    make_rule(kind="no_data", scope="kind", series_kind="counter", name="Idle rule")
    response = manager_client.get(LIST)
    choices = [c["display"] for c in response.context["cl"].filter_specs[4].choices(response.context["cl"])]
    assert choices == ["All", "Hot", "Quiet"]  # not "Idle rule" (no alarm), not "Their rule"


@pytest.mark.django_db
def test_bulk_acknowledge_asks_for_a_comment_then_acknowledges_the_selection(
    manager_client, alarms, django_capture_on_commit_callbacks
):
    chosen = [alarms["plant"].pk, alarms["office"].pk, alarms["theirs"].pk]
    form = {"action": "acknowledge", "_selected_action": chosen}
    ask = manager_client.post(LIST, form)
    assert ask.status_code == 200
    assert b"Acknowledge 2 alarms?" in ask.content  # another organization's id is dropped
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = manager_client.post(LIST, {**form, "apply": "1", "comment": "Gateway rebooted"}, follow=True)
    assert done.status_code == 200
    assert b"Acknowledged 2 alarm(s)." in done.content
    acknowledged = Alarm.objects.filter(acknowledged_at__isnull=False)
    assert {a.pk for a in acknowledged} == {alarms["plant"].pk, alarms["office"].pk}
    assert {a.acknowledge_comment for a in acknowledged} == {"Gateway rebooted"}
    assert {a.acknowledged_by.is_staff for a in acknowledged} == {True}
    assert AlarmEvent.objects.filter(kind="acknowledged").count() == 2


@pytest.mark.django_db
def test_alarms_are_not_added_or_deleted_by_hand(manager_client, alarms):
    assert manager_client.get(reverse("admin:alarms_alarm_add")).status_code == 403
    delete = reverse("admin:alarms_alarm_delete", args=[alarms["plant"].pk])
    assert manager_client.get(delete).status_code == 403


@pytest.mark.django_db
def test_a_rule_is_added_in_the_users_organization_and_checked(manager_client, org, series):
    add = reverse("admin:alarms_alarmrule_add")
    base = {"name": "Too hot", "kind": "threshold", "severity": "major", "enabled": "on", "scope": "series",
            "series": series.pk, "delay_minutes": 10, "hysteresis": 0, "interval_minutes": 15}  # fmt: skip
    refused = manager_client.post(add, base)
    assert refused.status_code == 200
    assert "A threshold rule has a limit." in str(refused.context["adminform"].form.errors)
    assert not AlarmRule.objects.exists()

    created = manager_client.post(add, {**base, "limit": 30, "direction": "above"})
    assert created.status_code == 302
    rule = AlarmRule.objects.get()
    assert (rule.organization, rule.series, rule.limit) == (org, series, 30)


@pytest.mark.django_db
def test_rules_past_the_organizations_limit_are_refused(manager_client, org, series, settings, make_rule):
    settings.ALARM_RULES_PER_ORGANIZATION = 1
    make_rule(kind="no_data", scope="series", series=series)
    response = manager_client.post(
        reverse("admin:alarms_alarmrule_add"),
        {
            "name": "Second",
            "kind": "no_data",
            "severity": "major",
            "scope": "series",
            "series": series.pk,
            "delay_minutes": 10,
            "hysteresis": 0,
            "interval_minutes": 15,
        },
    )
    assert response.status_code == 200
    assert "An organization may hold at most 1 alarm rules." in str(response.context["adminform"].form.errors)
    assert AlarmRule.objects.count() == 1


@pytest.mark.django_db
def test_a_webhook_to_a_private_address_is_refused_on_its_page(manager_client, settings):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = False
    add = reverse("admin:alarms_webhook_add")
    form = {"name": "inside", "secret": "s", "min_severity": "warning", "enabled": "on"}
    response = manager_client.post(add, {**form, "url": "http://169.254.169.254/latest"})
    assert response.status_code == 200
    assert "loopback, link-local or private" in str(response.context["adminform"].form.errors)
    assert manager_client.post(add, {**form, "url": "https://93.184.215.14/hook"}).status_code == 302
    assert list(Webhook.objects.values_list("url", flat=True)) == ["https://93.184.215.14/hook"]


@pytest.mark.django_db
def test_a_series_in_the_list_links_to_its_alarms(manager_client, alarms):
    response = manager_client.get(LIST)
    assert f'<a href="?series={alarms["on_site"].pk}">Plant meter</a>'.encode() in response.content


@pytest.mark.django_db
def test_a_webhooks_secret_is_never_shown_and_kept_when_left_empty(manager_client, org):
    webhook = Webhook.objects.create(
        organization=org, name="ops", url="https://93.184.215.14/", secret="s3cret"
    )
    change = reverse("admin:alarms_webhook_change", args=[webhook.pk])
    page = manager_client.get(change)
    assert b"s3cret" not in page.content
    form = {
        "name": "ops 2",
        "url": "https://93.184.215.14/",
        "secret": "",
        "min_severity": "major",
        "enabled": "on",
    }
    assert manager_client.post(change, form).status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.secret) == ("ops 2", "s3cret")
