"""What a series' statistics were computed for, and recomputing them when that changes.

A series' statistics depend on its kind, its `interval_end` and its zone (its site's, else its
organization's). Each series records what its statistics were last computed for, all of its
samples at once (`Series.statistics_kind`, `statistics_interval_end`, `statistics_zone`, set by
`rebuild.series_statistics_recompute` from what it read under the series lock). A change of any
of the three, wherever it is made (the series admin, the bulk configuration CSV, the site or
organization admin, a shell), leaves the series with a record that no longer matches:
`statistics_stale_enqueue`, run every minute by celery beat, finds those series with one join,
marks them `statistics_pending` and enqueues their recomputation after its transaction commits.
Writes that reach such a series meanwhile are counted for its new calendar; the recomputation
makes all of its buckets agree.

Why a periodic check rather than a call from each place that changes a zone: tenancy (sites and
organizations) sits below timeseries and may not import it (docs/decisions.md), and a check of
what the statistics were computed for also catches changes made where nobody thought to call.
Series whose kind or interval end is changed through the store's own service
(`series_statistics_refresh`) are enqueued at once.
"""

import logging
from functools import partial

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from apps.core.queue import enqueue
from apps.tenancy.models import Organization, Site

from ..models import Sample, Series

logger = logging.getLogger(__name__)

# The fields of a series that decide its statistics (with its site's and organization's zones).
STATISTICS_FIELDS = frozenset({"kind", "interval_end", "site"})
# Series enqueued per recompute job (each job recomputes them REBUILD_CHUNK at a time).
JOB_SERIES = 1_000


def stale_series() -> Series.objects:
    """The series whose statistics were computed for another kind, interval end or zone than
    theirs now, or never recorded (a new series), and that are not already being recomputed."""
    zone = Coalesce(F("site__time_zone"), F("organization__time_zone"))
    differs = (
        Q(statistics_kind__isnull=True)
        | Q(statistics_interval_end__isnull=True)
        | Q(statistics_zone__isnull=True)
        | ~Q(statistics_kind=F("kind"))
        | ~Q(statistics_interval_end=F("interval_end"))
        | ~Q(statistics_zone=F("zone"))
    )
    return Series.objects.alias(zone=zone).filter(differs, statistics_pending=False)


def statistics_stale_enqueue() -> int:
    """Mark the stale series pending and enqueue their recomputation (after commit); returns how
    many were enqueued. Idempotent: a series already pending is left to the job that has it.

    A stale series without samples has no statistics to recompute: what it is now is recorded
    at once (a new series, most of the time), with one UPDATE."""
    zone = Coalesce(
        Subquery(Site.objects.filter(pk=OuterRef("site_id")).values("time_zone")),
        Subquery(Organization.objects.filter(pk=OuterRef("organization_id")).values("time_zone")),
    )
    with transaction.atomic():
        empty = stale_series().filter(~Exists(Sample.objects.filter(series_id=OuterRef("pk"))))
        Series.objects.filter(pk__in=empty.values("pk")).update(
            statistics_kind=F("kind"), statistics_interval_end=F("interval_end"), statistics_zone=zone
        )
        ids = list(stale_series().order_by("pk").values_list("pk", flat=True))
        _enqueue(ids)
    return len(ids)


def series_statistics_refresh(*, series_ids: list[int]) -> None:
    """Recompute these series' statistics in the background (their kind or interval end was
    changed): marked pending now, in the caller's transaction, enqueued when it commits."""
    _enqueue(sorted(set(series_ids)))


def _enqueue(ids: list[int]) -> None:
    if not ids:
        return
    Series.objects.filter(pk__in=ids).update(statistics_pending=True)
    for start in range(0, len(ids), JOB_SERIES):
        transaction.on_commit(partial(_send, ids[start : start + JOB_SERIES]), using=connection.alias)


def _send(ids: list[int]) -> None:
    """Hand the job to Celery, after commit. When the broker is down, or the job fails where it
    runs in-process (no broker), the failure is logged and the series are no longer pending: the
    next check finds them stale again and enqueues them anew. (Raised here, it would answer the
    request that committed the change with a 500; see imports.services._enqueue.) By the task's
    name: tasks.py imports this module."""
    try:
        enqueue("timeseries.statistics_recompute", ids)
    except Exception:
        logger.exception("statistics of %d series not recomputed; the next check retries", len(ids))
        statistics_pending_clear(series_ids=ids)


def statistics_pending_clear(*, series_ids: list[int]) -> None:
    """A recomputation that did not happen: the series are left to the next check."""
    Series.objects.filter(pk__in=series_ids, statistics_pending=True).update(statistics_pending=False)
