"""Prometheus metrics: requests and latencies per dialect (counted here, by the middleware), and
the exposition of every metric of the project.

The other apps count in their own modules (points written: apps.timeseries.store; shared-cache
failures: apps.core.shared_cache) and register what is read at scrape time in
apps.core.metrics (import jobs: apps.imports, from ImportsConfig.ready()), so no app below
imports this one.

Counters live in the process that counts them. Under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (an empty directory, cleared at start) so that the scrape adds up every
worker; see README, "Production".
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from apps.core.metrics import SCRAPE_TIME

REQUESTS = Counter(
    "ems_requests_total", "HTTP requests answered, by dialect and status.", ["dialect", "status"]
)
LATENCY = Histogram(
    "ems_request_seconds",
    "Time to answer an HTTP request, by dialect.",
    ["dialect"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render() -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's) counters,
    then the numbers read at scrape time."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(SCRAPE_TIME)
