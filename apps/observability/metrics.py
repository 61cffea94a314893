"""Prometheus metrics: requests and latencies per dialect, points written, import jobs.

Counters live in the process that counts them. Under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (an empty directory, cleared at start) so that the scrape adds up every
worker; see README, "Production".
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "ems_requests_total", "HTTP requests answered, by dialect and status.", ["dialect", "status"]
)
LATENCY = Histogram(
    "ems_request_seconds",
    "Time to answer an HTTP request, by dialect.",
    ["dialect"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POINTS_WRITTEN = Counter("ems_points_written_total", "Samples inserted or replaced by the store.", ["policy"])
CACHE_ERRORS = Counter(
    "ems_cache_errors_total",
    "Calls to the shared cache (Redis) that failed: refused or timed out. By use; for request_limit "
    "each is a request let through without the limit.",
    ["use"],
)
CACHE_SKIPPED = Counter(
    "ems_cache_skipped_total",
    "Calls to the shared cache skipped because it failed within CACHE_RETRY_SECONDS. By use; for "
    "request_limit each is a request let through without the limit.",
    ["use"],
)


class ImportJobCollector:
    """Import jobs by status and the broker's queue depth, read at scrape time (they are the
    database's and the broker's numbers, not a process's)."""

    def collect(self):
        from apps.imports.selectors import import_job_status_counts, import_queue_depth

        jobs = GaugeMetricFamily("ems_import_jobs", "Import jobs by status.", labels=["status"])
        for status, count in import_job_status_counts().items():
            jobs.add_metric([status], count)
        yield jobs
        depth = import_queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "ems_import_queue_depth", "Messages waiting in the import queue.", value=depth
            )


_SCRAPE_TIME = CollectorRegistry()
_SCRAPE_TIME.register(ImportJobCollector())


def render() -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's) counters,
    then the numbers read at scrape time."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_SCRAPE_TIME)
