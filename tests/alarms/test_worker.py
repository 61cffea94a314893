"""A real Celery worker on Redis sends an alarm's webhook and retries it after a 500 with Celery's
backoff (the embedded, eager mode retries at once; this is the production path).

PostgreSQL only: the worker is another process and cannot see the SQLite database of a test run;
the test is transactional, so the worker sees committed rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.alarms.evaluate import alarms_evaluate
from apps.alarms.models import Alarm, AlarmRule, Delivery, DeliveryAttempt, Webhook
from tests.celery_support import BROKER_URL, broker_queue
from tests.factories import OrganizationFactory, SeriesFactory
from tests.reliability.crash_support import (
    celery_producer,
    database_url,
    project_env,
    start_worker,
    stop_process,
    wait_until,
    worker_ready,
)

from .conftest import sample
from .receiver import Receiver

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    with broker_queue("ems-test-alarms") as queue:
        log = tmp_path / "worker.log"
        env = project_env(
            DATABASE_URL=database_url(connection.settings_dict),
            CELERY_BROKER_URL=BROKER_URL,
            ALARM_WEBHOOK_ALLOW_PRIVATE="true",
            CELERY_TASK_DEFAULT_QUEUE=queue,  # the tasks the worker sends (dispatch -> deliver) too
        )
        process = start_worker(env, queue, log)
        try:
            wait_until("the worker", lambda: worker_ready(log), 60)
            with celery_producer(BROKER_URL, queue):
                yield log
        finally:
            stop_process(process)


def test_a_worker_delivers_the_webhook_retrying_after_a_500_with_backoff(worker):
    receiver = Receiver()
    receiver.answers = [500]
    try:
        org = OrganizationFactory()
        series = SeriesFactory(organization=org)
        Webhook.objects.create(organization=org, name="ops", url=receiver.url, secret="s3cret")
        AlarmRule.objects.create(
            organization=org, name="silent", kind="no_data", scope="series", series=series, delay_minutes=5
        )
        sample(series, timezone.now() - timedelta(minutes=10), 1.0)

        alarms_evaluate()  # commits, then publishes the dispatch to the worker's queue

        assert Alarm.objects.filter(series=series, cleared_at__isnull=True).count() == 1
        wait_until(
            "the webhook delivered",
            lambda: Delivery.objects.filter(status="sent").exists(),
            60,
        )
    finally:
        receiver.close()
    assert len(receiver.received) == 2, worker.read_text()[-3000:]
    first, second = DeliveryAttempt.objects.order_by("at")
    assert (first.ok, first.status_code, second.ok, second.status_code) == (False, 500, True, 200)
    assert (second.at - first.at).total_seconds() >= 9  # Celery's countdown, 10 s
    assert Delivery.objects.get().attempts == 2
