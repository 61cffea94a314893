"""The imports' numbers read at scrape time, registered by ImportsConfig.ready() (apps.core.metrics)."""

from prometheus_client.core import GaugeMetricFamily

from .selectors import import_job_status_counts, import_queue_depth


class ImportJobCollector:
    """Import jobs by status and the broker's queue depth, read at scrape time (they are the
    database's and the broker's numbers, not a process's)."""

    def collect(self):
        jobs = GaugeMetricFamily("ems_import_jobs", "Import jobs by status.", labels=["status"])
        for status, count in import_job_status_counts().items():
            jobs.add_metric([status], count)
        yield jobs
        depth = import_queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "ems_import_queue_depth", "Messages waiting in the import queue.", value=depth
            )
