"""Reads of the alarms for the pages above this app (the console's dashboard and charts, issue
#16 item 4, left to the console work): counts of active alarms by severity, the newest, and the
moments a series' alarms opened and cleared, for chart markers."""

from datetime import datetime

from django.db.models import Count, Q

from .models import SEVERITY_RANK, Alarm


def alarms_active_counts(*, organization_ids: list[int] | None) -> dict[str, int]:
    """Active alarms by severity (every severity present, most severe first) in the
    organizations `organization_ids` (None: all)."""
    alarms = Alarm.objects.filter(cleared_at__isnull=True)
    if organization_ids is not None:
        alarms = alarms.filter(organization__in=organization_ids)
    found = dict(alarms.values("severity").annotate(n=Count("pk")).values_list("severity", "n"))
    return {
        severity: found.get(severity, 0)
        for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)
    }


def alarms_active_newest(*, organization_ids: list[int] | None, limit: int = 10) -> list[Alarm]:
    """The newest active alarms, with their rule and series loaded."""
    alarms = Alarm.objects.filter(cleared_at__isnull=True).select_related("rule", "series")
    if organization_ids is not None:
        alarms = alarms.filter(organization__in=organization_ids)
    return list(alarms.order_by("-started_at", "-id")[:limit])


def alarm_markers(*, series_id: int, start: datetime, end: datetime) -> list[tuple[datetime, str, Alarm]]:
    """(moment, "opened" or "cleared", alarm) of the series' alarms that opened or cleared within
    [start, end), in time order: where a chart of the series marks them."""
    alarms = Alarm.objects.filter(series_id=series_id).filter(
        Q(started_at__gte=start, started_at__lt=end) | Q(cleared_at__gte=start, cleared_at__lt=end)
    )
    markers = []
    for alarm in alarms.select_related("rule"):
        if start <= alarm.started_at < end:
            markers.append((alarm.started_at, "opened", alarm))
        if alarm.cleared_at is not None and start <= alarm.cleared_at < end:
            markers.append((alarm.cleared_at, "cleared", alarm))
    return sorted(markers, key=lambda marker: (marker[0], marker[2].pk))
