from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "apps.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self):
        # The import jobs' gauges, read at scrape time: registered by this app, so that the
        # metrics app (above it) exposes them without importing it.
        from apps.core.metrics import scrape_collector_register

        from .metrics import ImportJobCollector

        scrape_collector_register(ImportJobCollector())
