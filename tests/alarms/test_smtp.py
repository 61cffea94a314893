"""Once through a real SMTP server (aiosmtpd on a free loopback port): the email backend the
settings name, not the test outbox, carries the alarm's message."""

import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from apps.alarms.models import Delivery, DeliveryAttempt, Recipient
from tests.factories import UserFactory

from .conftest import T0, evaluate, sample


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "alarms@ems.example"
    yield inbox
    controller.stop()


@pytest.mark.django_db
def test_an_opened_alarm_is_mailed_through_a_real_smtp_server(
    org, series, make_rule, smtp_server, clock, django_capture_on_commit_callbacks
):
    Recipient.objects.create(
        organization=org, user=UserFactory(email="ops@example.com"), min_severity="warning"
    )
    make_rule(kind="no_data", scope="series", series=series, delay_minutes=5, name="Main meter silent")
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        evaluate()

    [(sender, recipients, content)] = smtp_server.messages
    assert (sender, recipients) == ("alarms@ems.example", ["ops@example.com"])
    message = message_from_bytes(content)
    assert message["Subject"] == "[EMS Acme] alarms: 1 opened"
    assert "Main meter silent on main: No new sample for 6 minutes" in message.get_payload()
    assert list(Delivery.objects.values_list("status", "attempts")) == [("sent", 1)]
    assert DeliveryAttempt.objects.get().ok


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_is_retried_and_logged(
    org, series, make_rule, clock, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    settings.ALARM_DELIVERY_MAX_RETRIES = 2
    Recipient.objects.create(
        organization=org, user=UserFactory(email="ops@example.com"), min_severity="warning"
    )
    make_rule(kind="no_data", scope="series", series=series, delay_minutes=5)
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        evaluate()
    assert list(Delivery.objects.values_list("status", "attempts")) == [("failed", 3)]
    assert [ok for ok in DeliveryAttempt.objects.values_list("ok", flat=True)] == [False] * 3
