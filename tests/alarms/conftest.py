import contextlib
from datetime import UTC, datetime

import pytest
import time_machine

from apps.alarms.evaluate import alarms_evaluate
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule
from apps.core.time import datetime_to_ms as ms  # the tests' short name
from apps.timeseries.store import Policy, SampleBatch, write

# A Wednesday, mid-morning UTC.
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock, stopped, moved with `clock.at(datetime)` (time-machine)."""

    class Clock:
        def __init__(self):
            self._stack = contextlib.ExitStack()

        def at(self, moment: datetime) -> datetime:
            self._stack.close()
            self._stack = contextlib.ExitStack()
            self._stack.enter_context(time_machine.travel(moment, tick=False))
            return moment

        def close(self):
            self._stack.close()

    clock = Clock()
    yield clock
    clock.close()


def sample(series, moment: datetime, value: float) -> None:
    write(SampleBatch([series.pk], [ms(moment)], [value]), Policy.OVERWRITE)


@pytest.fixture
def make_rule(org):
    def make(**fields) -> AlarmRule:
        fields.setdefault("organization", org)
        fields.setdefault("name", f"rule {AlarmRule.objects.count() + 1}")
        return AlarmRule.objects.create(**fields)

    return make


def evaluate():
    return alarms_evaluate()


def alarms_of(rule) -> list[Alarm]:
    return list(Alarm.objects.filter(rule=rule).order_by("id"))


def events_of(rule) -> list[str]:
    return list(AlarmEvent.objects.filter(alarm__rule=rule).order_by("id").values_list("kind", flat=True))
