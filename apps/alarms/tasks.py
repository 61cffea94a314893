"""Celery tasks: thin wrappers of the services, safe to run twice."""

from celery import shared_task
from django.conf import settings

from .evaluate import alarms_evaluate
from .notify import Outcome, alarms_dispatch, delivery_attempt
from .services import alarms_expire


@shared_task(name="alarms.evaluate", ignore_result=True)
def alarms_evaluate_task() -> dict:
    """celery beat, every minute; also sent by name when an import job finishes."""
    result = alarms_evaluate()
    return {"skipped": result.skipped, **result.counts}


@shared_task(name="alarms.dispatch", ignore_result=True)
def alarms_dispatch_task() -> int:
    return len(alarms_dispatch())


@shared_task(name="alarms.deliver", bind=True, ignore_result=True, acks_late=True)
def delivery_send_task(self, delivery_id: int) -> str:
    """One try; a failure that may pass (a time-out, a 5xx) is tried again by Celery after
    10 s, 20 s, 40 s... up to ALARM_DELIVERY_MAX_RETRIES times."""
    retries = settings.ALARM_DELIVERY_MAX_RETRIES
    outcome = delivery_attempt(delivery_id=delivery_id, last=self.request.retries >= retries)
    if outcome is Outcome.RETRY and self.request.retries < retries:
        countdown = 10 * 2**self.request.retries
        if self.request.is_eager:
            # No broker (the embedded default): Celery runs the returned retry at once, in process.
            return self.retry(countdown=countdown, max_retries=retries, throw=False)
        raise self.retry(countdown=countdown, max_retries=retries)
    return outcome.value


@shared_task(name="alarms.expire", ignore_result=True)
def alarms_expire_task() -> int:
    return alarms_expire()
