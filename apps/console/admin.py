"""The alarms on the pages of the apps below them (issue #16 item 4): a series' and a site's
alarms on their change pages, and the markers of a series' chart where its alarms opened and
cleared.

The Series admin (apps/timeseries) and the Site admin (apps/tenancy) sit below apps/alarms and
must not import it, so the console, above both, re-registers them as subclasses that add an
"alarms" read-only field and the chart's `markers` (docs/decisions.md). Loaded by the admin's
autodiscovery after theirs: apps.console comes after them in INSTALLED_APPS.
"""

from datetime import UTC, datetime

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from apps.alarms.models import Alarm
from apps.alarms.selectors import alarm_markers
from apps.core.time import datetime_to_ms
from apps.tenancy.admin import SiteAdmin
from apps.tenancy.models import Site
from apps.timeseries.admin import SeriesAdmin
from apps.timeseries.models import Series, ms_to_datetime

ALARMS_SHOWN = 5
_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


class AlarmsFieldMixin:
    """An "alarms" read-only field on the change page: the newest ALARMS_SHOWN alarms of the
    object (`alarm_filter`: the alarm list's parameter and the alarms' lookup for it), how many
    are active, and a link to the alarm list filtered by it. Shown only to users who may view
    the alarms of the object's organization."""

    alarm_filter: str  # "series" or "site"
    alarm_lookup: str  # "series" or "series__site"

    def alarm_admin(self):
        return self.admin_site._registry.get(Alarm)

    def may_view_alarms(self, request, organization_id: int) -> bool:
        alarm_admin = self.alarm_admin()
        if alarm_admin is None or not alarm_admin.has_view_permission(request):
            return False
        organization_ids = alarm_admin.scope_organization_ids(request, "view", "change")
        return organization_ids is None or organization_id in organization_ids

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and self.may_view_alarms(request, obj.organization_id):
            fields.append("alarms")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "alarms")

    @admin.display(description="alarms")
    def alarms(self, obj):
        alarms = Alarm.objects.filter(**{self.alarm_lookup: obj})
        counts = alarms.aggregate(total=Count("pk"), active=Count("pk", filter=Q(cleared_at__isnull=True)))
        list_url = (
            f"{reverse(f'{self.admin_site.name}:alarms_alarm_changelist')}?{self.alarm_filter}={obj.pk}"
        )
        if not counts["total"]:
            return "None."
        newest = alarms.select_related("rule").order_by("-started_at", "-id")[:ALARMS_SHOWN]
        rows = format_html_join(
            "",
            '<li data-alarm="{}"><a href="{}">{}</a> {} · {} · {} · {}</li>',
            (
                (
                    alarm.pk,
                    reverse(f"{self.admin_site.name}:alarms_alarm_change", args=[alarm.pk]),
                    f"{localtime(alarm.started_at):%Y-%m-%d %H:%M}",
                    alarm.severity,
                    "active"
                    if alarm.cleared_at is None
                    else f"cleared {localtime(alarm.cleared_at):%Y-%m-%d %H:%M}",
                    alarm.rule,
                    alarm.message,
                )
                for alarm in newest
            ),
        )
        return format_html(
            '<ul class="ems-alarms">{}</ul>'
            '<a href="{}" class="ems-alarms-link">All {} alarm{} ({} active)</a>',
            rows,
            list_url,
            counts["total"],
            "" if counts["total"] == 1 else "s",
            counts["active"],
        )


class ConsoleSeriesAdmin(AlarmsFieldMixin, SeriesAdmin):
    """The series page with its alarms, and its chart with their markers."""

    alarm_filter = "series"
    alarm_lookup = "series"

    def chart_extra(self, request, series, start_ms, end_ms):
        """`markers`: where the series' alarms opened and cleared within the range, in time
        order, as {ts (epoch ms), event ("opened", "cleared"), alarm, severity, rule}."""
        extra = super().chart_extra(request, series, start_ms, end_ms)
        if not self.may_view_alarms(request, series.organization_id):
            return extra
        markers = alarm_markers(
            series_id=series.pk,
            start=ms_to_datetime(start_ms) or _EARLIEST,
            end=ms_to_datetime(end_ms) or _LATEST,
        )
        return {
            **extra,
            "markers": [
                {
                    "ts": datetime_to_ms(moment),
                    "event": event,
                    "alarm": alarm.pk,
                    "severity": alarm.severity,
                    "rule": alarm.rule.name,
                }
                for moment, event, alarm in markers
            ],
        }


class ConsoleSiteAdmin(AlarmsFieldMixin, SiteAdmin):
    """The site page with the alarms of its series."""

    alarm_filter = "site"
    alarm_lookup = "series__site"


admin.site.unregister(Series)
admin.site.register(Series, ConsoleSeriesAdmin)
admin.site.unregister(Site)
admin.site.register(Site, ConsoleSiteAdmin)
