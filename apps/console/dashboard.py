"""The admin index's dashboard: per organization, its devices, signals and series, the signals
that went stale, and the imports of the last day by status; the active alarms by severity and the
newest of them (issue #16 item 4).

Everything is computed by `dashboard_summary` from the organizations it is given, so the figures
follow whatever a user may see: `dashboard_organizations` says which those are. A fixed number of
queries whatever the number of organizations or objects: one for the organizations with their
counts (correlated subqueries, not joins, so counts do not multiply each other), one for the first
stale signals, one for the imports, two for the alarms (counts, newest), and four for the energy
overview (energy.py: series, virtual terms, aggregates of the daily and of the quarter-hour
statistics). Here in the console, not in tenancy: it reads every app below (ARCHITECTURE.md,
Layers).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import BigIntegerField, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from apps.alarms.models import Alarm
from apps.alarms.selectors import alarms_active_counts, alarms_active_newest
from apps.console.energy import OrganizationEnergy, energy_overview
from apps.core.time import datetime_to_ms
from apps.inventory.models import Device, Signal
from apps.tenancy.models import Organization
from apps.tenancy.selectors import user_organizations
from apps.timeseries.models import Series, ms_to_datetime
from apps.timeseries.selectors import series_current

STALE_SIGNALS_SHOWN = 10
ACTIVE_ALARMS_SHOWN = 10
IMPORTS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class OrganizationFigures:
    organization: Organization
    devices: int
    signals: int
    series: int
    stale_signals: int
    # Import jobs of the last IMPORTS_WINDOW by status (every status listed), None without imports.
    imports: dict[str, int] | None = None


@dataclass(frozen=True)
class Dashboard:
    organizations: list[OrganizationFigures]
    # The stalest signals (never reported first), with load, device, series and organization, and
    # `current_at`: when their current sample was taken (None: never).
    stale_signals: list[Signal] = field(default_factory=list)
    # The import statuses in display order, None when the imports app is not installed.
    import_statuses: list[str] | None = None
    # Active alarms by severity, most severe first (every severity listed), and the newest
    # ACTIVE_ALARMS_SHOWN of them with rule and series.
    alarm_counts: dict[str, int] = field(default_factory=dict)
    active_alarms: list[Alarm] = field(default_factory=list)
    # The energy overview per organization with energy series (energy.py).
    energy: list[OrganizationEnergy] = field(default_factory=list)

    @property
    def active_alarm_total(self) -> int:
        return sum(self.alarm_counts.values())

    def total(self, name: str) -> int:
        return sum(getattr(figures, name) for figures in self.organizations)

    @property
    def totals(self) -> dict[str, int]:
        return {name: self.total(name) for name in ("devices", "signals", "series", "stale_signals")}

    @property
    def import_totals(self) -> dict[str, int] | None:
        if self.import_statuses is None:
            return None
        return {
            status: sum((figures.imports or {}).get(status, 0) for figures in self.organizations)
            for status in self.import_statuses
        }


def dashboard_organizations(*, user) -> QuerySet[Organization]:
    """The organizations whose figures `user` may see: all for a superuser, else their own."""
    if user.is_active and user.is_superuser:
        return Organization.objects.all()
    return user_organizations(user=user)


def _count(queryset: QuerySet):
    """The number of `queryset`'s rows for the outer organization, as a subquery annotation."""
    counted = queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _signals(now_ms: int) -> QuerySet[Signal]:
    """Signals with their series' current sample time as `current_ts` (for `_stale`)."""
    return Signal.objects.alias(**series_current(now_ms=now_ms, via="series"))


def _stale(staleness_seconds, now_ms: int) -> Q:
    """Enabled signals with no series, no sample, or a current sample (the newest at or before
    now) older than the staleness. On signals from `_signals`.

    `staleness_seconds` is the organization's own setting as an expression; 0 or empty means the
    installation's default, as Organization.effective_realtime_staleness_seconds says. Cast to
    bigint before multiplying, since seconds * 1000 overflows a PostgreSQL integer past 24 days.
    """
    staleness = Coalesce(
        NullIf(staleness_seconds, 0),
        Value(settings.EMS_REALTIME_STALENESS_SECONDS),
        output_field=IntegerField(),
    )
    cutoff_ms = Value(now_ms, output_field=BigIntegerField()) - Cast(staleness, BigIntegerField()) * 1000
    return Q(enable=True) & (Q(current_ts=None) | Q(current_ts__lt=cutoff_ms))


def _import_job_model():
    if not apps.is_installed("apps.imports"):
        return None
    return apps.get_model("imports", "ImportJob")


def dashboard_summary(*, organizations: QuerySet[Organization], now: datetime | None = None) -> Dashboard:
    """The dashboard's figures for `organizations` (a queryset: it becomes a subquery), as of `now`."""
    now = now or timezone.now()
    now_ms = datetime_to_ms(now)
    rows = (
        Organization.objects.filter(pk__in=organizations.values("pk"))
        .annotate(
            device_count=_count(Device.objects.filter(organization=OuterRef("pk"))),
            signal_count=_count(Signal.objects.filter(organization=OuterRef("pk"))),
            series_count=_count(Series.objects.filter(organization=OuterRef("pk"))),
            stale_count=_count(
                _signals(now_ms)
                .filter(organization=OuterRef("pk"))
                .filter(_stale(OuterRef("realtime_staleness_seconds"), now_ms))
            ),
        )
        .order_by("name", "pk")
    )
    figures = [
        OrganizationFigures(
            organization=row,
            devices=row.device_count,
            signals=row.signal_count,
            series=row.series_count,
            stale_signals=row.stale_count,
        )
        for row in rows
    ]
    if not figures:
        return Dashboard(organizations=[])

    visible = organizations.values("pk")
    stale_signals = list(
        _signals(now_ms)
        .filter(organization__in=visible)
        .filter(_stale(F("organization__realtime_staleness_seconds"), now_ms))
        .select_related("load__device", "series", "organization")
        .annotate(current_ms=F("current_ts"))
        .order_by(F("current_ts").asc(nulls_first=True), "organization__name", "uid")[:STALE_SIGNALS_SHOWN]
    )
    for signal in stale_signals:
        signal.current_at = ms_to_datetime(signal.current_ms)  # shown as "latest sample"

    import_job = _import_job_model()
    statuses = None
    if import_job is not None:
        statuses = list(import_job.Status.values)
        counts: dict[int, dict[str, int]] = {}
        for organization_id, status, n in (
            import_job.objects.filter(organization__in=visible, created_at__gte=now - IMPORTS_WINDOW)
            .order_by()
            .values_list("organization", "status")
            .annotate(n=Count("pk"))
        ):
            counts.setdefault(organization_id, {})[status] = n
        figures = [
            replace(f, imports={s: counts.get(f.organization.pk, {}).get(s, 0) for s in statuses})
            for f in figures
        ]
    # The organizations' ids as fetched above: the alarms follow exactly the organizations shown.
    organizations_by_pk = {f.organization.pk: f.organization for f in figures}
    organization_ids = list(organizations_by_pk)
    active_alarms = alarms_active_newest(organization_ids=organization_ids, limit=ACTIVE_ALARMS_SHOWN)
    for alarm in active_alarms:
        alarm.organization = organizations_by_pk[alarm.organization_id]  # shown, no query
    return Dashboard(
        organizations=figures,
        stale_signals=stale_signals,
        import_statuses=statuses,
        alarm_counts=alarms_active_counts(organization_ids=organization_ids),
        active_alarms=active_alarms,
        energy=energy_overview(organizations=[f.organization for f in figures], now=now),
    )
