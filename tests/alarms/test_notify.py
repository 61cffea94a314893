"""Notifications: one message per state change, batched; email through Django's backend (the
outbox, and once a real SMTP server); webhooks to a real HTTP server, signed, retried."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail

from apps.alarms.models import Alarm, Delivery, DeliveryAttempt, Recipient, Webhook
from apps.alarms.services import alarms_acknowledge
from apps.alarms.webhook_url import webhook_target
from apps.core.exceptions import Invalid
from tests.factories import SeriesFactory, SiteFactory, UserFactory

from .conftest import T0, evaluate, sample
from .receiver import Receiver

MIN = timedelta(minutes=1)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def stale_site(org, make_rule, clock):
    """A site whose gateway went quiet: `n` series with a sample at T0, a no-data rule on the
    site (critical, 5 minutes), the clock at T0."""

    def make(n: int):
        site = SiteFactory(organization=org, name="Plant")
        clock.at(T0)
        for i in range(n):
            sample(SeriesFactory(organization=org, site=site, name=f"meter {i:03}"), T0, float(i))
        return make_rule(kind="no_data", scope="site", site=site, delay_minutes=5, severity="critical")

    return make


def evaluate_and_notify(capture):
    with capture(execute=True):
        return evaluate()


@pytest.fixture
def boss(org):
    user = UserFactory(email="boss@example.com")
    Recipient.objects.create(organization=org, user=user, min_severity="major")
    return user


@pytest.mark.django_db
def test_three_hundred_alarms_opening_at_once_send_one_email_and_one_webhook_post(
    org, stale_site, boss, receiver, clock, settings, django_capture_on_commit_callbacks
):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = True
    Webhook.objects.create(organization=org, name="ops", url=receiver.url, secret="s3cret")
    rule = stale_site(300)
    clock.at(T0 + 6 * MIN)
    evaluate_and_notify(django_capture_on_commit_callbacks)

    assert Alarm.objects.filter(rule=rule, cleared_at__isnull=True).count() == 300
    [email] = mail.outbox
    assert email.to == ["boss@example.com"]
    assert email.subject == "[EMS Acme] alarms: 300 opened"
    assert email.body.count("OPENED") == 300
    [(path, _headers, body)] = receiver.received
    assert path == "/hooks/ems?x=1"
    event = json.loads(body)
    assert len(event["events"]) == 300
    assert event["organization"] == "acme"
    first = event["events"][0]
    assert first["event"] == "opened"
    assert first["alarm"]["severity"] == "critical" and first["alarm"]["rule"] == rule.name

    # A second pass sends nothing: each state change is told once.
    mail.outbox.clear()
    clock.at(T0 + 7 * MIN)
    evaluate_and_notify(django_capture_on_commit_callbacks)
    assert mail.outbox == [] and len(receiver.received) == 1


@pytest.mark.django_db
def test_acknowledge_and_clear_each_send_one_message_and_recipients_are_chosen_by_severity(
    org, series, make_rule, boss, clock, django_capture_on_commit_callbacks
):
    watcher = UserFactory(email="watch@example.com")
    Recipient.objects.create(organization=org, user=watcher, min_severity="warning")
    rule = make_rule(kind="no_data", scope="series", series=series, delay_minutes=5, severity="minor")
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + 6 * MIN)
    evaluate_and_notify(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["watch@example.com"]]  # minor: not the boss (major+)

    mail.outbox.clear()
    alarm = Alarm.objects.get(rule=rule)
    with django_capture_on_commit_callbacks(execute=True):
        assert alarms_acknowledge(alarms=Alarm.objects.all(), user=boss, comment="on it") == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert alarms_acknowledge(alarms=Alarm.objects.all(), user=boss, comment="again") == 0
    alarm.refresh_from_db()
    assert (alarm.acknowledged_by, alarm.acknowledge_comment) == (boss, "on it")
    [email] = mail.outbox
    assert email.subject == "[EMS Acme] alarms: 1 acknowledged"
    assert f"(acknowledged by {boss}: on it)" in email.body

    mail.outbox.clear()
    clock.at(T0 + 7 * MIN)
    sample(series, T0 + 7 * MIN, 2.0)
    evaluate_and_notify(django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.subject == "[EMS Acme] alarms: 1 cleared"


@pytest.mark.django_db
def test_webhook_is_signed_and_retried_after_a_500_each_attempt_logged(
    org, series, make_rule, receiver, clock, settings, django_capture_on_commit_callbacks
):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = True
    Webhook.objects.create(organization=org, name="ops", url=receiver.url, secret="s3cret")
    make_rule(kind="no_data", scope="series", series=series, delay_minutes=5)
    receiver.answers = [500]
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + 6 * MIN)
    evaluate_and_notify(django_capture_on_commit_callbacks)

    assert len(receiver.received) == 2
    for _, headers, body in receiver.received:
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-EMS-Signature"], expected)
        assert headers["Content-Type"] == "application/json"
    assert receiver.received[0][2] == receiver.received[1][2]  # the same event, resent
    [delivery] = Delivery.objects.filter(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert list(
        DeliveryAttempt.objects.filter(delivery=delivery).values_list("ok", "status_code", "error")
    ) == [
        (False, 500, "HTTP 500"),
        (True, 200, ""),
    ]


@pytest.mark.django_db
def test_a_webhook_that_times_out_is_retried_then_given_up_and_the_alarm_stands(
    org, series, make_rule, receiver, clock, settings, django_capture_on_commit_callbacks
):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = True
    settings.ALARM_WEBHOOK_TIMEOUT_SECONDS = 0.3
    settings.ALARM_DELIVERY_MAX_RETRIES = 1
    receiver.delay = 0.6
    Webhook.objects.create(organization=org, name="slow", url=receiver.url, secret="s")
    rule = make_rule(kind="no_data", scope="series", series=series, delay_minutes=5)
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + 6 * MIN)
    result = evaluate_and_notify(django_capture_on_commit_callbacks)

    assert result.counts["opened"] == 1
    assert Alarm.objects.filter(rule=rule, cleared_at__isnull=True).count() == 1
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    errors = list(DeliveryAttempt.objects.values_list("ok", "error"))
    assert errors == [(False, "TimeoutError: timed out")] * 2


@pytest.mark.django_db
def test_a_webhook_to_a_private_address_is_refused_at_send_time_and_never_retried(
    org, series, make_rule, receiver, clock, settings, django_capture_on_commit_callbacks
):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = False
    Webhook.objects.create(organization=org, name="inside", url=receiver.url, secret="s")
    make_rule(kind="no_data", scope="series", series=series, delay_minutes=5)
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + 6 * MIN)
    evaluate_and_notify(django_capture_on_commit_callbacks)

    assert receiver.received == []
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert list(DeliveryAttempt.objects.values_list("ok", "error")) == [
        (False, "A webhook may not point to a loopback, link-local or private address.")
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_webhook_targets_that_are_not_public_are_refused(url, settings):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(Invalid, match="loopback, link-local or private"):
        webhook_target(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///nohost"])
def test_webhook_targets_must_be_http_urls(url):
    with pytest.raises(Invalid, match="http or https"):
        webhook_target(url)


def test_a_public_address_is_accepted(settings):
    settings.ALARM_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_target("https://93.184.215.14:8443/hook") == (
        "https",
        "93.184.215.14",
        8443,
        "93.184.215.14",
    )
