"""gunicorn settings, read from the working directory: `gunicorn ems.wsgi`.

The app logs every request itself (apps/observability), with secret query parameters masked;
gunicorn's access log would print query strings as sent (Blynk clients put their secrets there),
so it stays off.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Sync workers, one more than the cores. A request here mostly computes (the 100-value Building X
# POST waits on PostgreSQL for about a quarter of its time), so one spare worker keeps the cores
# busy and every further process only adds context switches. Measured on 2 cores with
# bench/buildingx.py (8 clients), CPU per request (app + database + load generator) and requests/s:
# 2 workers 4.6 ms, 354-367/s; 3 workers 4.8-4.9 ms, 355-361/s; 4 workers 4.7-5.3 ms, 343-392/s;
# 5 workers (2 x cores + 1) 5.1-5.2 ms, 354-363/s; gthread 2 x 2 threads 5.0-5.1 ms, 325-332/s.
# With the database on another host requests wait longer: raise WEB_CONCURRENCY there.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
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
