"""Writes of the alarms app: rules' limits, acknowledging, and the history's expiry. The
evaluation pass is `evaluate.alarms_evaluate`; notifications are in notify.py."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Invalid, QuotaExceeded
from apps.timeseries.models import SeriesKind

from .evaluate import alarms_evaluate
from .models import Alarm, AlarmEvent, AlarmRule, Delivery, EventKind, RuleKind, RuleScope
from .notify import dispatch_on_commit

__all__ = ["alarm_rule_check", "alarms_acknowledge", "alarms_evaluate", "alarms_expire"]


def alarm_rule_check(rule: AlarmRule) -> None:
    """Refuse a rule that could not be evaluated, or one past the organization's limit
    (ALARM_RULES_PER_ORGANIZATION). Raises Invalid (with the field) or QuotaExceeded."""
    if rule.scope == RuleScope.SERIES and rule.series_id is None:
        raise Invalid("A rule on one series names the series.", field="series")
    if rule.scope == RuleScope.SITE and rule.site_id is None:
        raise Invalid("A rule on a site names the site.", field="site")
    if rule.scope == RuleScope.KIND and not rule.series_kind:
        raise Invalid("A rule on all series of a kind names the kind.", field="series_kind")
    if rule.scope == RuleScope.SERIES and rule.series.kind == SeriesKind.VIRTUAL:
        # Computed on read from its sources: no samples or statistics of its own to watch.
        raise Invalid("A virtual series has no samples of its own: watch its sources.", field="series")
    if rule.kind == RuleKind.THRESHOLD:
        if rule.limit is None:
            raise Invalid("A threshold rule has a limit.", field="limit")
        if not rule.direction:
            raise Invalid("A threshold rule says above or below.", field="direction")
        if rule.hysteresis < 0:
            raise Invalid("The hysteresis is zero or more.", field="hysteresis")
    if rule.kind == RuleKind.CONSUMPTION:
        if not rule.period:
            raise Invalid("A consumption rule has a period (hour or day).", field="period")
        if rule.percent is None or rule.percent <= 0:
            raise Invalid("A consumption rule has a percentage of its baseline above 0.", field="percent")
    if rule.kind == RuleKind.GAPS and rule.interval_minutes < 1:
        raise Invalid("The interval is at least one minute.", field="interval_minutes")
    limit = settings.ALARM_RULES_PER_ORGANIZATION
    others = AlarmRule.objects.filter(organization_id=rule.organization_id).exclude(pk=rule.pk).count()
    if others >= limit:
        raise QuotaExceeded(f"An organization may hold at most {limit} alarm rules.")


@transaction.atomic
def alarms_acknowledge(*, alarms, user, comment: str = "", now: datetime | None = None) -> int:
    """Acknowledge the alarms of `alarms` (a queryset) not acknowledged yet, by `user` with
    `comment`; each is told once (an event). Returns how many were acknowledged."""
    now = now or timezone.now()
    pending = list(
        alarms.filter(acknowledged_at__isnull=True)
        .select_for_update(of=("self",))
        .values_list("pk", "organization_id")
    )
    if not pending:
        return 0
    Alarm.objects.filter(pk__in=[pk for pk, _ in pending], acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=user, acknowledge_comment=comment.strip()
    )
    AlarmEvent.objects.bulk_create(
        AlarmEvent(organization_id=org, alarm_id=pk, kind=EventKind.ACKNOWLEDGED, at=now)
        for pk, org in pending
    )
    dispatch_on_commit()
    return len(pending)


def alarms_expire(*, now: datetime | None = None) -> int:
    """Delete the alarms cleared more than ALARM_RETENTION_DAYS ago (0: kept forever) and the
    deliveries as old. Returns the alarms deleted."""
    days = settings.ALARM_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    Delivery.objects.filter(created_at__lt=cutoff).delete()
    deleted, _ = Alarm.objects.filter(cleared_at__lt=cutoff).delete()
    return deleted
