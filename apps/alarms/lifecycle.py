"""The alarm's life inside an evaluation pass: open, update, clear, each state change written
with its event in the pass's transaction, in bulk (a site losing its gateway opens hundreds of
alarms in one pass: a few statements, not a few per alarm)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, F, FloatField, Value, When

from .models import Alarm, AlarmEvent, AlarmRule, EventKind


@dataclass
class Changes:
    """What one pass does to the alarms, gathered, then written by `apply`."""

    now: datetime
    opened: list[tuple[AlarmRule, int, float | None, str]] = field(default_factory=list)
    updated: dict[int, float | None] = field(default_factory=dict)  # alarm id -> latest value
    cleared: set[int] = field(default_factory=set)  # alarm ids

    def open(self, rule: AlarmRule, series_id: int, value: float | None, message: str) -> None:
        self.opened.append((rule, series_id, value, message))

    def update(self, alarm_id: int, old: float | None, value: float | None) -> None:
        """The open alarm's latest value, written only when it changed."""
        if value != old and alarm_id not in self.cleared:
            self.updated[alarm_id] = value

    def clear(self, alarm_id: int) -> None:
        self.cleared.add(alarm_id)
        self.updated.pop(alarm_id, None)

    def counts(self) -> dict[str, int]:
        return {"opened": len(self.opened), "updated": len(self.updated), "cleared": len(self.cleared)}


def changes_apply(changes: Changes) -> None:
    """Write the gathered changes and their events. Runs under the pass lock: nobody else opens
    alarms meanwhile, and the (rule, series) constraint stops what would slip past it."""
    now = changes.now
    events = []
    if changes.opened:
        alarms = Alarm.objects.bulk_create(
            Alarm(
                organization_id=rule.organization_id,
                rule=rule,
                series_id=series_id,
                severity=rule.severity,
                started_at=now,
                updated_at=now,
                value=value,
                message=message[:300],
            )
            for rule, series_id, value, message in changes.opened
        )
        events += [
            AlarmEvent(organization_id=a.organization_id, alarm_id=a.pk, kind=EventKind.OPENED, at=now)
            for a in alarms
        ]
    if changes.cleared:
        cleared = list(
            Alarm.objects.filter(pk__in=changes.cleared, cleared_at__isnull=True).values_list(
                "pk", "organization_id"
            )
        )
        Alarm.objects.filter(pk__in=[pk for pk, _ in cleared]).update(cleared_at=now, updated_at=now)
        events += [
            AlarmEvent(organization_id=org_id, alarm_id=pk, kind=EventKind.CLEARED, at=now)
            for pk, org_id in cleared
        ]
    if changes.updated:
        whens = [
            When(pk=pk, then=Value(value, output_field=FloatField())) for pk, value in changes.updated.items()
        ]
        Alarm.objects.filter(pk__in=list(changes.updated), cleared_at__isnull=True).update(
            value=Case(*whens, default=F("value"), output_field=FloatField()), updated_at=now
        )
    if events:
        AlarmEvent.objects.bulk_create(events)
