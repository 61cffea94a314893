"""Two evaluators at once never open two alarms for one condition (PostgreSQL: real
connections in threads; SQLite has one writer at a time)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from apps.alarms.evaluate import PASS_LOCK_KEY, alarms_evaluate
from apps.alarms.models import Alarm, AlarmEvent

from .conftest import T0, sample

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")


@pytest.fixture
def overdue(series, make_rule, clock):
    """A no-data rule (5 minutes) on a series whose only sample is 6 minutes old: due to open."""
    rule = make_rule(kind="no_data", scope="series", series=series, delay_minutes=5)
    clock.at(T0)
    sample(series, T0, 1.0)
    clock.at(T0 + timedelta(minutes=6))
    return rule


def _in_thread(target, results, index, barrier):
    try:
        barrier.wait(timeout=10)
        results[index] = target()
    except Exception as exc:  # reported by the assertion below
        results[index] = exc
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_evaluators_at_once_open_one_alarm_and_tell_it_once(overdue):
    for _ in range(5):  # a few rounds: the passes overlap more or less each time
        results, barrier = [None, None], threading.Barrier(2)
        threads = [
            threading.Thread(target=_in_thread, args=(alarms_evaluate, results, i, barrier)) for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not [r for r in results if isinstance(r, Exception)], results
    assert Alarm.objects.filter(rule=overdue).count() == 1
    assert list(AlarmEvent.objects.values_list("kind", flat=True)) == ["opened"]


@pytest.mark.django_db(transaction=True)
def test_a_pass_that_finds_another_running_skips_and_the_next_one_does_the_work(overdue):
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PASS_LOCK_KEY])
            holding.set()
            release.wait(timeout=10)
        connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        assert alarms_evaluate().skipped
        assert Alarm.objects.filter(rule=overdue).count() == 0
    finally:
        release.set()
        holder.join(timeout=10)
    result = alarms_evaluate()
    assert (result.skipped, result.counts["opened"]) == (False, 1)
