"""Metrics plumbing below every app, so that an app reports without importing the app that
exposes the metrics (apps.observability, at the top of the layers):

- counters and histograms are defined in the module that counts them and live in
  prometheus_client's default registry (or, under gunicorn with PROMETHEUS_MULTIPROC_DIR, in the
  workers' files);
- numbers read at scrape time (the database's, the broker's: not a process's) come from
  collectors that each app registers here from its `AppConfig.ready()`.

apps.observability.metrics.render() exposes both.
"""

from prometheus_client import CollectorRegistry

SCRAPE_TIME = CollectorRegistry()
_registered: set[type] = set()


def scrape_collector_register(collector) -> None:
    """Have `collector.collect()` called at every scrape. One collector of a kind: a second
    registration of the same class (an app registry populated twice) is ignored. The collector is
    not called at registration (no `describe`, so nothing is read before the first scrape)."""
    if type(collector) in _registered:
        return
    _registered.add(type(collector))
    SCRAPE_TIME.register(collector)
