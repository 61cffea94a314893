"""gunicorn settings, read from the working directory: `gunicorn ems.wsgi`.

The app logs every request itself (apps/observability), with secret query parameters masked;
gunicorn's access log would print query strings as sent (Blynk clients put their secrets there),
so it stays off.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = None
# Requests of up to 2 MB (ioTORQ imports) arrive whole before the app sees them.
limit_request_line = 8190


def child_exit(server, worker):
    """With several workers, Prometheus counters are kept per process in PROMETHEUS_MULTIPROC_DIR;
    a dead worker's live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
