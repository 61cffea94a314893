from django.apps import AppConfig


class TimeseriesConfig(AppConfig):
    name = "apps.timeseries"
    label = "timeseries"
    verbose_name = "Time series"
