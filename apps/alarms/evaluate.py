"""One evaluation pass of every rule (celery beat, every minute; and after import jobs).

The work is proportional to what moved, not to the installation's size:

- threshold rules look only at the series written since the last pass: those whose
  `Series.revision` differs from the one the pass before saw (SeriesMark), found by one join in
  the database, plus the breaches whose delay has run out;
- no-data rules are one set-based query: the pairs whose newest sample is older than the delay
  and that have no open alarm (a stale series with its alarm open costs nothing more), and one
  for the open ones whose series wrote again;
- consumption and gaps rules judge completed periods, so each is due once a quarter-hour
  (`next_due_at`), and reads the statistics tables, not the samples.

Idempotent: a pass reads the open alarms and writes the differences, so two passes in a row
change nothing the second time. Two passes at once never both act: on PostgreSQL a pass takes a
transaction-level advisory lock and a pass that finds it taken skips (the running one does the
work); under it all, the partial unique constraint allows one open alarm per (rule, series).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.time import datetime_to_ms
from apps.timeseries.models import Series

from .lifecycle import Changes, changes_apply
from .models import Alarm, AlarmRule, Breach, Direction, RuleKind, RuleScope, SeriesMark
from .notify import dispatch_on_commit
from .periods import consumption_judge, gaps_judge, next_due
from .scope import rule_pairs, stale_pairs

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the evaluation pass ("alarms" in ASCII).
PASS_LOCK_KEY = 0x616C61726D73


@dataclass
class PassResult:
    skipped: bool = False
    series_written: int = 0
    rules_due: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _pass_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: one writer at a time anyway; the constraint guards the rest
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PASS_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def alarms_evaluate(*, now: datetime | None = None) -> PassResult:
    """Evaluate every enabled rule at `now` (default: the clock) and write the alarms' changes
    and their events in one transaction; the notifications are dispatched after it commits."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _pass_lock():
            return PassResult(skipped=True)
        _disable_orphans()
        changes = Changes(now=now)
        _clear_disabled(changes)
        _no_data(changes)
        written = _threshold(changes)
        due = _periods(changes)
        changes_apply(changes)
        if changes.opened or changes.cleared:
            dispatch_on_commit()
    result = PassResult(series_written=written, rules_due=due, counts=changes.counts())
    log.info("alarms evaluated: %s", result)
    return result


def _disable_orphans() -> None:
    """A rule whose series or site was deleted watches nothing: disabled, with the reason."""
    orphans = Q(scope=RuleScope.SERIES, series__isnull=True) | Q(scope=RuleScope.SITE, site__isnull=True)
    AlarmRule.objects.filter(orphans, enabled=True).update(
        enabled=False, disabled_reason="Its series or site was deleted."
    )


def _clear_disabled(changes: Changes) -> None:
    """The open alarms of disabled rules end: nothing watches their condition any more."""
    for pk in Alarm.objects.filter(cleared_at__isnull=True, rule__enabled=False).values_list("pk", flat=True):
        changes.clear(pk)
    Breach.objects.filter(rule__enabled=False).delete()


def _no_data(changes: Changes) -> None:
    now_ms = datetime_to_ms(changes.now)
    stale = stale_pairs(now_ms=now_ms)
    if stale:
        rules = AlarmRule.objects.in_bulk({p.rule_id for p in stale})
        for pair in stale:
            rule = rules[pair.rule_id]
            minutes = (now_ms - pair.last_ts) // 60_000
            changes.open(rule, pair.series_id, pair.last_value, f"No new sample for {minutes} minutes")
    fresh = Alarm.objects.filter(
        cleared_at__isnull=True,
        rule__kind=RuleKind.NO_DATA,
        series__last_ts__gte=now_ms - F("rule__delay_minutes") * 60_000,
    )
    for pk in fresh.values_list("pk", flat=True):
        changes.clear(pk)


def _written_series() -> list[tuple[int, int]]:
    """(series id, revision) of the series written since the last pass (or never seen)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.revision FROM timeseries_series s "
            "LEFT JOIN alarms_seriesmark m ON m.series_id = s.id "
            "WHERE m.series_id IS NULL OR m.revision <> s.revision"
        )
        return cursor.fetchall()


def _beyond(rule: AlarmRule, value: float) -> bool:
    return value > rule.limit if rule.direction == Direction.ABOVE else value < rule.limit


def _back(rule: AlarmRule, value: float) -> bool:
    """Back inside the limit by the hysteresis: what clears the condition."""
    if rule.direction == Direction.ABOVE:
        return value <= rule.limit - rule.hysteresis
    return value >= rule.limit + rule.hysteresis


def _threshold(changes: Changes) -> int:
    rules = AlarmRule.objects.in_bulk(
        AlarmRule.objects.filter(kind=RuleKind.THRESHOLD, enabled=True, limit__isnull=False).values_list(
            "pk", flat=True
        )
    )
    if not rules:
        return 0
    written = _written_series()
    pairs = [
        p
        for p in rule_pairs(kind=RuleKind.THRESHOLD, series_ids=[s for s, _ in written])
        if p.rule_id in rules
    ]
    # New or changed rules: every series of their scope, written lately or not.
    unchecked = [pk for pk, rule in rules.items() if not rule.scope_checked]
    seen = {(p.rule_id, p.series_id) for p in pairs}
    pairs += [p for p in rule_pairs(rule_ids=unchecked) if (p.rule_id, p.series_id) not in seen]
    keys = {(p.rule_id, p.series_id) for p in pairs}
    series_ids = {s for _, s in keys}
    breaches = {
        (b.rule_id, b.series_id): b
        for b in Breach.objects.filter(rule_id__in=list(rules), series_id__in=series_ids)
        if (b.rule_id, b.series_id) in keys
    }
    open_alarms = _open_alarms(rule_ids=list(rules), series_ids=series_ids)
    created, ended = [], []
    for pair in pairs:
        rule, key = rules[pair.rule_id], (pair.rule_id, pair.series_id)
        if pair.last_value is None:
            continue
        alarm = open_alarms.get(key)
        if _beyond(rule, pair.last_value):
            if key not in breaches:
                created.append(
                    Breach(
                        rule_id=pair.rule_id,
                        series_id=pair.series_id,
                        since_ms=pair.last_ts,
                        due_at=None if alarm else changes.now + timedelta(minutes=rule.delay_minutes),
                    )
                )
        elif _back(rule, pair.last_value):
            if key in breaches:
                ended.append(breaches[key].pk)
            if alarm is not None:
                changes.clear(alarm[0])
                continue
        if alarm is not None:
            changes.update(alarm[0], alarm[1], pair.last_value)
    AlarmRule.objects.filter(pk__in=unchecked).update(scope_checked=True)
    Breach.objects.filter(pk__in=ended).delete()
    Breach.objects.bulk_create(created)
    _breaches_due(changes, rules)
    SeriesMark.objects.bulk_create(
        [SeriesMark(series_id=pk, revision=revision) for pk, revision in written],
        update_conflicts=True,
        unique_fields=["series"],
        update_fields=["revision"],
        batch_size=5000,
    )
    return len(written)


def _breaches_due(changes: Changes, rules: dict[int, AlarmRule]) -> None:
    """Breaches that have lasted the rule's delay open their alarm."""
    due = list(
        Breach.objects.filter(due_at__lte=changes.now).values_list("pk", "rule_id", "series_id", "since_ms")
    )
    if not due:
        return
    values = dict(Series.objects.filter(pk__in={s for _, _, s, _ in due}).values_list("pk", "last_value"))
    for _, rule_id, series_id, since_ms in due:
        rule = rules.get(rule_id)
        if rule is None:
            continue
        since = (
            datetime.fromtimestamp(since_ms / 1000, tz=changes.now.tzinfo) if since_ms is not None else None
        )
        value = values.get(series_id)
        changes.open(
            rule,
            series_id,
            value,
            f"{value:g} {rule.direction} the limit {rule.limit:g} since {since:%Y-%m-%d %H:%M} UTC"
            if since and value is not None
            else f"{rule.direction.capitalize()} the limit {rule.limit:g}",
        )
    Breach.objects.filter(pk__in=[pk for pk, *_ in due]).update(due_at=None)


def _open_alarms(*, rule_ids: list[int], series_ids=None) -> dict[tuple[int, int], tuple[int, float]]:
    """(rule, series) -> (alarm id, latest value) of the open alarms of these rules."""
    alarms = Alarm.objects.filter(cleared_at__isnull=True, rule_id__in=rule_ids)
    if series_ids is not None:
        alarms = alarms.filter(series_id__in=series_ids)
    return {(r, s): (pk, v) for pk, r, s, v in alarms.values_list("pk", "rule_id", "series_id", "value")}


def _periods(changes: Changes) -> int:
    """Consumption and gaps rules whose quarter-hour has come."""
    due = list(
        AlarmRule.objects.filter(
            Q(next_due_at__isnull=True) | Q(next_due_at__lte=changes.now),
            kind__in=[RuleKind.CONSUMPTION, RuleKind.GAPS],
            enabled=True,
        )
    )
    if not due:
        return 0
    by_rule = defaultdict(list)
    for pair in rule_pairs(rule_ids=[r.pk for r in due]):
        by_rule[pair.rule_id].append(pair)
    open_alarms = _open_alarms(rule_ids=[r.pk for r in due])
    consumption_judge(
        changes,
        [r for r in due if r.kind == RuleKind.CONSUMPTION and r.percent is not None and r.period],
        by_rule,
        open_alarms,
    )
    gaps_judge(changes, [r for r in due if r.kind == RuleKind.GAPS], by_rule, open_alarms)
    by_delay = defaultdict(list)
    for rule in due:
        by_delay[rule.delay_minutes].append(rule.pk)
    for delay, pks in by_delay.items():
        AlarmRule.objects.filter(pk__in=pks).update(
            next_due_at=next_due(now=changes.now, delay_minutes=delay)
        )
    return len(due)
