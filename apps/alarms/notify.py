"""Notifications: the alarms' state changes (events) told by email and signed webhooks.

Dispatching takes the events not sent yet, all of them, and makes one message per recipient and
one POST per webhook carrying every event that recipient or webhook wants (by severity): a site
losing its gateway opens 300 alarms in one pass and sends one email, not 300. Each event is
dispatched once (`dispatched_at`, set in the transaction that makes the messages), so an alarm
sends at most one message per state change. Each message is a Delivery sent by its own Celery
task, retried with backoff, each try logged: a slow or failing webhook never holds up the
evaluation, which has committed before any of this runs.
"""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from collections import defaultdict
from enum import Enum
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Invalid
from apps.core.queue import enqueue

from .models import (
    SEVERITY_RANK,
    AlarmEvent,
    Channel,
    Delivery,
    DeliveryAttempt,
    EventKind,
    Recipient,
    Webhook,
)
from .webhook_url import webhook_target

SIGNATURE_HEADER = "X-EMS-Signature"
DISPATCH_BATCH = 5000


def dispatch_on_commit() -> None:
    """Dispatch the pending events once the current transaction commits."""
    transaction.on_commit(_enqueue_dispatch)


# The tasks (tasks.py) wrap this module's functions: they are sent by name (apps.core.queue).
def _enqueue_dispatch() -> None:
    enqueue("alarms.dispatch")


def _enqueue_delivery(delivery_id: int) -> None:
    enqueue("alarms.deliver", delivery_id)


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def event_json(event: AlarmEvent) -> dict:
    alarm = event.alarm
    return {
        "event": event.kind,
        "at": _iso(event.at),
        "alarm": {
            "id": alarm.pk,
            "rule_id": alarm.rule_id,
            "rule": alarm.rule.name,
            "kind": alarm.rule.kind,
            "severity": alarm.severity,
            "series_id": alarm.series_id,
            "series": alarm.series.name,
            "meter_code": alarm.series.meter_code,
            "message": alarm.message,
            "value": alarm.value,
            "started_at": _iso(alarm.started_at),
            "cleared_at": _iso(alarm.cleared_at),
            "acknowledged_at": _iso(alarm.acknowledged_at),
            "acknowledged_by": alarm.acknowledged_by.get_username() if alarm.acknowledged_by else None,
            "acknowledge_comment": alarm.acknowledge_comment,
        },
    }


def _email_text(organization, events: list[AlarmEvent]) -> tuple[str, str]:
    tally = defaultdict(int)
    for event in events:
        tally[event.kind] += 1
    parts = [f"{n} {kind}" for kind, n in ((k, tally[k]) for k in EventKind.values) if n]
    subject = f"[EMS {organization.name}] alarms: {', '.join(parts)}"
    lines = [
        f"{_iso(e.at)}  {e.kind.upper():<12} {e.alarm.severity:<8} {e.alarm.rule.name} on "
        f"{e.alarm.series.meter_code or e.alarm.series.name}: {e.alarm.message}"
        + (
            f" (acknowledged by {e.alarm.acknowledged_by}: {e.alarm.acknowledge_comment})"
            if e.kind == "acknowledged"
            else ""
        )
        for e in events
    ]
    return subject, "\n".join(lines) + "\n"


@transaction.atomic
def alarms_dispatch() -> list[int]:
    """Turn the pending events into deliveries (one per recipient, one per webhook) and mark
    them dispatched; the deliveries are sent after commit. Returns the deliveries' ids."""
    events = list(
        AlarmEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(dispatched_at__isnull=True)
        .select_related("organization", "alarm__rule", "alarm__series", "alarm__acknowledged_by")
        .order_by("id")[:DISPATCH_BATCH]
    )
    if not events:
        return []
    by_org = defaultdict(list)
    for event in events:
        by_org[event.organization_id].append(event)
    deliveries = []
    for org_id, org_events in by_org.items():
        organization = org_events[0].organization
        for recipient in Recipient.objects.filter(organization_id=org_id).select_related("user"):
            wanted = [
                e
                for e in org_events
                if SEVERITY_RANK[e.alarm.severity] >= SEVERITY_RANK[recipient.min_severity]
            ]
            if not wanted or not recipient.user.email or not recipient.user.is_active:
                continue
            subject, body = _email_text(organization, wanted)
            deliveries.append(
                Delivery(
                    organization_id=org_id,
                    channel=Channel.EMAIL,
                    recipients=[recipient.user.email],
                    subject=subject[:300],
                    payload={"text": body, "events": [e.pk for e in wanted]},
                )
            )
        for webhook in Webhook.objects.filter(organization_id=org_id, enabled=True):
            wanted = [
                e
                for e in org_events
                if SEVERITY_RANK[e.alarm.severity] >= SEVERITY_RANK[webhook.min_severity]
            ]
            if wanted:
                deliveries.append(
                    Delivery(
                        organization_id=org_id,
                        channel=Channel.WEBHOOK,
                        webhook=webhook,
                        payload={
                            "organization": organization.slug,
                            "events": [event_json(e) for e in wanted],
                        },
                    )
                )
    Delivery.objects.bulk_create(deliveries)
    AlarmEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
    for delivery in deliveries:
        transaction.on_commit(partial(_enqueue_delivery, delivery.pk))
    if len(events) == DISPATCH_BATCH:
        dispatch_on_commit()  # more are waiting
    return [d.pk for d in deliveries]


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    REFUSED = "refused"  # never retried: the target may not be reached


def webhook_signature(secret: str, body: bytes) -> str:
    """What the X-EMS-Signature header carries: "sha256=" and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post_webhook(delivery: Delivery) -> tuple[Outcome, int | None, str]:
    webhook = delivery.webhook
    try:
        scheme, host, port, address = webhook_target(webhook.url)
    except Invalid as exc:
        return Outcome.REFUSED, None, exc.message
    body = json.dumps({"delivery": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
    parts = urlsplit(webhook.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, timeout=settings.ALARM_WEBHOOK_TIMEOUT_SECONDS)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "EMS-alarms",
        SIGNATURE_HEADER: webhook_signature(webhook.secret, body),
        "X-EMS-Delivery": str(delivery.pk),
    }
    try:
        connection.request("POST", target, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return Outcome.RETRY, None, f"{type(exc).__name__}: {exc}"[:500]
    finally:
        connection.close()
    if 200 <= status < 300:
        return Outcome.SENT, status, ""
    # 4xx but 408/429 is the receiver's refusal: trying again sends the same thing.
    if status >= 500 or status in (408, 429):
        return Outcome.RETRY, status, f"HTTP {status}"
    return Outcome.REFUSED, status, f"HTTP {status}"


def _send_email(delivery: Delivery) -> tuple[Outcome, int | None, str]:
    message = EmailMessage(
        subject=delivery.subject,
        body=delivery.payload["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=delivery.recipients,
    )
    try:
        message.send()
    except OSError as exc:  # smtplib's errors are OSErrors
        return Outcome.RETRY, None, f"{type(exc).__name__}: {exc}"[:500]
    return Outcome.SENT, None, ""


def delivery_attempt(*, delivery_id: int, last: bool = False) -> Outcome:
    """Send the delivery once and log the try. `last`: a failure is final (no retry follows)."""
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return Outcome.SENT  # sent (or given up) already: a redelivered task does nothing
    started = time.monotonic()
    send = _post_webhook if delivery.channel == Channel.WEBHOOK else _send_email
    outcome, status_code, error = send(delivery)
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        ok=outcome is Outcome.SENT,
        status_code=status_code,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    delivery.attempts += 1
    if outcome is Outcome.SENT:
        delivery.status, delivery.sent_at = Delivery.Status.SENT, now
    elif outcome is Outcome.REFUSED or last:
        delivery.status = Delivery.Status.FAILED
    delivery.save(update_fields=["attempts", "status", "sent_at"])
    return outcome
