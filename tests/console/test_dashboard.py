"""The admin index's dashboard: figures per organization, stale signals, imports of the last day,
who sees which organizations, and a fixed number of queries (run on SQLite and on PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.alarms.models import Alarm, AlarmRule
from apps.console.dashboard import (
    ACTIVE_ALARMS_SHOWN,
    STALE_SIGNALS_SHOWN,
    dashboard_organizations,
    dashboard_summary,
)
from apps.inventory.demo import demo_seed
from apps.tenancy.models import Organization
from apps.tenancy.services import membership_grant
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import (
    DeviceFactory,
    LoadFactory,
    SeriesFactory,
    SignalFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
MINUTE = 60_000

needs_imports = pytest.mark.skipif(
    not apps.is_installed("apps.imports"), reason="apps.imports is not installed"
)


def signal_reporting(load, *, minutes_ago: float | None, enable: bool = True):
    """A signal of `load` whose series' newest sample is `minutes_ago` old (None: no sample)."""
    series = SeriesFactory(organization=load.organization)
    if minutes_ago is not None:
        write(SampleBatch([series.pk], [NOW_MS - int(minutes_ago * MINUTE)], [1.0]), Policy.OVERWRITE)
    return SignalFactory(load=load, series=series, enable=enable)


def figures_of(dashboard, organization):
    [figures] = [f for f in dashboard.organizations if f.organization == organization]
    return figures


def summary(*organizations):
    return dashboard_summary(
        organizations=Organization.objects.filter(pk__in=[o.pk for o in organizations]), now=NOW
    )


def test_dashboard_counts_devices_signals_and_series_per_organization(org, other_org):
    load = LoadFactory(device=DeviceFactory(organization=org))
    DeviceFactory(organization=org)
    for minutes_ago in (1, 2, 3):
        signal_reporting(load, minutes_ago=minutes_ago)
    SeriesFactory(organization=org)  # a series no signal uses
    SignalFactory(load=LoadFactory(device=DeviceFactory(organization=other_org)))

    dashboard = summary(org, other_org)

    mine, theirs = figures_of(dashboard, org), figures_of(dashboard, other_org)
    assert (mine.devices, mine.signals, mine.series, mine.stale_signals) == (2, 3, 4, 0)
    assert (theirs.devices, theirs.signals, theirs.series) == (1, 1, 1)
    assert dashboard.totals == {"devices": 3, "signals": 4, "series": 5, "stale_signals": 1}


def test_stale_signals_are_enabled_signals_without_a_recent_sample(org, settings):
    settings.EMS_REALTIME_STALENESS_SECONDS = 15 * 60
    load = LoadFactory(device=DeviceFactory(organization=org))
    signal_reporting(load, minutes_ago=14.9)  # fresh
    old = signal_reporting(load, minutes_ago=15.1)
    never = signal_reporting(load, minutes_ago=None)
    no_series = SignalFactory(load=load, series=None)
    signal_reporting(load, minutes_ago=60, enable=False)  # disabled: not watched

    dashboard = summary(org)

    assert figures_of(dashboard, org).stale_signals == 3
    # Never reported first, then the stalest.
    assert dashboard.stale_signals[2] == old
    assert set(dashboard.stale_signals[:2]) == {never, no_series}


def test_a_sample_dated_later_does_not_make_a_signal_fresh_before_its_time(org, settings):
    settings.EMS_REALTIME_STALENESS_SECONDS = 15 * 60
    load = LoadFactory(device=DeviceFactory(organization=org))
    with time_machine.travel(NOW, tick=False):
        signal = signal_reporting(load, minutes_ago=30)
        write(SampleBatch([signal.series_id], [NOW_MS + 86_400_000], [9.0]), Policy.OVERWRITE)

    dashboard = summary(org)

    assert figures_of(dashboard, org).stale_signals == 1
    assert dashboard.stale_signals == [signal]
    assert dashboard.stale_signals[0].current_at == NOW - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("staleness", "stale"),
    [
        (None, True),  # the default, 15 minutes
        (0, True),  # 0 means the default too
        (3_600, False),
        (40 * 86_400, False),  # in milliseconds past a 32-bit integer
    ],
)
def test_stale_signals_follow_the_organizations_own_staleness(org, settings, staleness, stale):
    settings.EMS_REALTIME_STALENESS_SECONDS = 15 * 60
    org.realtime_staleness_seconds = staleness
    org.save()
    signal_reporting(LoadFactory(device=DeviceFactory(organization=org)), minutes_ago=30)

    assert figures_of(summary(org), org).stale_signals == (1 if stale else 0)


def test_stale_signal_list_is_capped_and_figures_keep_counting(org):
    load = LoadFactory(device=DeviceFactory(organization=org))
    for minutes in range(STALE_SIGNALS_SHOWN + 2):
        signal_reporting(load, minutes_ago=100 + minutes)

    dashboard = summary(org)

    assert figures_of(dashboard, org).stale_signals == STALE_SIGNALS_SHOWN + 2
    assert len(dashboard.stale_signals) == STALE_SIGNALS_SHOWN


def test_dashboard_of_no_organization_is_empty(db):
    dashboard = dashboard_summary(organizations=Organization.objects.none(), now=NOW)

    assert dashboard.organizations == []
    assert dashboard.totals == {"devices": 0, "signals": 0, "series": 0, "stale_signals": 0}


@needs_imports
def test_dashboard_counts_the_imports_of_the_last_24_hours_by_status(org, other_org):
    import_job = apps.get_model("imports", "ImportJob")

    def job(organization, status, hours_ago):
        created = import_job.objects.create(organization=organization, dialect="csv", status=status)
        import_job.objects.filter(pk=created.pk).update(created_at=NOW - timedelta(hours=hours_ago))

    job(org, "done", 1)
    job(org, "done", 23.9)
    job(org, "failed", 2)
    job(org, "done", 24.1)  # too old
    job(other_org, "queued", 1)

    dashboard = summary(org, other_org)

    assert figures_of(dashboard, org).imports == {"queued": 0, "running": 0, "done": 2, "failed": 1}
    assert figures_of(dashboard, other_org).imports == {"queued": 1, "running": 0, "done": 0, "failed": 0}
    assert dashboard.import_totals == {"queued": 1, "running": 0, "done": 2, "failed": 1}


# Who sees which organizations


def test_dashboard_organizations_are_all_for_a_superuser_and_the_memberships_otherwise(org, other_org):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    member = UserFactory(is_staff=True)
    membership_grant(user=member, organization=org, role_slugs=["facility-manager"])
    stranger = UserFactory(is_staff=True)

    assert set(dashboard_organizations(user=superuser)) == {org, other_org}
    assert list(dashboard_organizations(user=member)) == [org]
    assert list(dashboard_organizations(user=stranger)) == []


def test_admin_index_shows_a_facility_manager_only_their_organization(client, demo, other_demo):
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])

    response = client.get("/admin/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="ems-overview"' in content
    assert 'data-organization="demo"' in content
    assert 'data-organization="other"' not in content
    demo_org = Organization.objects.get(slug="demo")
    assert f"/admin/inventory/device/?organization__id__exact={demo_org.pk}" in content


def test_admin_index_shows_a_superuser_every_organization_with_totals(client, demo, other_demo):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    content = client.get("/admin/").content.decode()

    assert 'data-organization="demo"' in content and 'data-organization="other"' in content
    assert "All 2 organizations" in content


def test_admin_index_of_a_staff_user_without_organization_has_no_dashboard(client, db):
    client.force_login(UserFactory(is_staff=True))

    response = client.get("/admin/")

    assert response.status_code == 200
    assert 'id="ems-dashboard"' not in response.content.decode()


# Alarms


def alarm(organization, *, minutes_ago: int, severity="major", cleared=False, series=None):
    """An alarm of a no-data rule of `organization`, started `minutes_ago` before NOW."""
    series = series or SeriesFactory(organization=organization)
    rule = AlarmRule.objects.create(
        organization=organization, name=f"rule {AlarmRule.objects.count() + 1}", kind="no_data",
        scope="series", series=series, severity=severity,
    )  # fmt: skip
    started = NOW - timedelta(minutes=minutes_ago)
    return Alarm.objects.create(
        organization=organization, rule=rule, series=series, severity=severity, started_at=started,
        updated_at=started, cleared_at=NOW if cleared else None, value=1.5, message="no data",
    )  # fmt: skip


def test_dashboard_counts_active_alarms_by_severity_newest_first_of_its_organizations_only(org, other_org):
    old = alarm(org, minutes_ago=30, severity="critical")
    new = alarm(org, minutes_ago=5)
    alarm(org, minutes_ago=1, cleared=True)
    alarm(other_org, minutes_ago=2, severity="minor")  # another organization's: never counted

    dashboard = summary(org)

    assert dashboard.alarm_counts == {"critical": 1, "major": 1, "minor": 0, "warning": 0}
    assert dashboard.active_alarm_total == 2
    assert dashboard.active_alarms == [new, old]
    assert summary(org, other_org).alarm_counts == {"critical": 1, "major": 1, "minor": 1, "warning": 0}


def test_dashboard_shows_the_newest_active_alarms_only(org):
    alarms = [alarm(org, minutes_ago=minutes) for minutes in range(1, ACTIVE_ALARMS_SHOWN + 3)]

    dashboard = summary(org)

    assert dashboard.active_alarms == alarms[:ACTIVE_ALARMS_SHOWN]
    assert dashboard.alarm_counts["major"] == ACTIVE_ALARMS_SHOWN + 2


def test_admin_index_shows_a_facility_manager_their_active_alarms_not_another_organizations(
    client, demo, other_demo
):
    mine_org = Organization.objects.get(slug="demo")
    theirs_org = Organization.objects.get(slug="other")
    Alarm.objects.all().delete()  # whatever the demo raised: the figures below are exact
    mine = alarm(mine_org, minutes_ago=3, severity="critical")
    theirs = alarm(theirs_org, minutes_ago=1, severity="warning")
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])

    content = client.get("/admin/").content.decode()

    assert 'id="ems-active-alarms"' in content
    assert (
        '<td class="ems-number ems-warning" data-severity="critical">'
        '<a href="/admin/alarms/alarm/?state=active&amp;severity__exact=critical">1</a></td>'
    ) in content
    assert '<td class="ems-number" data-severity="warning">0</td>' in content
    assert f'data-alarm="{mine.pk}"' in content
    assert f'href="/admin/alarms/alarm/{mine.pk}/change/"' in content
    assert f'href="/admin/alarms/alarm/?series={mine.series_id}"' in content
    assert f'data-alarm="{theirs.pk}"' not in content
    assert str(theirs.series) not in content


# Queries


def test_dashboard_summary_runs_nine_queries_whatever_the_number_of_organizations(
    demo, django_assert_num_queries
):
    # 5 for the organizations, stale signals, imports and alarms, 4 for the energy overview.
    expected = 9 if apps.is_installed("apps.imports") else 8
    with django_assert_num_queries(expected):
        dashboard_summary(organizations=Organization.objects.all(), now=NOW)

    demo_seed(slug="second")
    demo_seed(slug="third")

    with django_assert_num_queries(expected):
        dashboard = dashboard_summary(organizations=Organization.objects.all(), now=NOW)
    assert len(dashboard.organizations) == 3


def test_admin_index_runs_a_fixed_number_of_queries(client, demo):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    def index_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/").status_code == 200
        return len(queries)

    before = index_queries()
    demo_seed(slug="second")
    demo_seed(slug="third")

    assert index_queries() == before
