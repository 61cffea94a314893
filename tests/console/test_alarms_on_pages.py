"""A series' and a site's alarms on their admin pages, and the series chart's alarm markers
(apps/console/admin.py): only the object's own alarms, only for users who may view alarms."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.alarms.models import Alarm, AlarmRule
from apps.tenancy.models import Role
from apps.tenancy.services import membership_grant
from tests.factories import SeriesFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def alarm(series, started, cleared=None, severity="major", name="no data"):
    rule, _ = AlarmRule.objects.get_or_create(
        organization=series.organization, name=name, defaults={"kind": "no_data", "scope": "kind",
        "series_kind": "measurement", "severity": severity},
    )  # fmt: skip
    return Alarm.objects.create(
        organization=series.organization, rule=rule, series=series, severity=severity, started_at=started,
        updated_at=started, cleared_at=cleared, message="no sample for 15 minutes",
    )  # fmt: skip


@pytest.fixture
def viewer_client(client, org):
    """Staff who may view series and sites of `org`, not its alarms."""
    role = Role.objects.create(name="Viewer", slug="viewer")
    role.permissions.set(
        Permission.objects.filter(
            codename__in=["view_series", "view_site"], content_type__app_label__in=["timeseries", "tenancy"]
        )
    )
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["viewer"])
    client.force_login(user)
    return client


def test_series_page_lists_its_alarms_newest_first_with_a_link_to_all(manager_client, org, series):
    old = alarm(series, T0, cleared=T0 + H)
    new = alarm(series, T0 + 2 * H, severity="critical", name="hot")
    someone_elses = alarm(SeriesFactory(organization=org), T0 + 3 * H)

    content = manager_client.get(reverse("admin:timeseries_series_change", args=[series.pk])).content.decode()

    assert content.index(f'data-alarm="{new.pk}"') < content.index(f'data-alarm="{old.pk}"')
    assert f'data-alarm="{someone_elses.pk}"' not in content
    assert (
        f'<a href="/admin/alarms/alarm/{new.pk}/change/">2026-03-04 12:00</a> critical · active · hot'
        in content
    )
    assert "major · cleared 2026-03-04 11:00 · no data" in content
    assert (
        f'<a href="/admin/alarms/alarm/?series={series.pk}" class="ems-alarms-link">'
        "All 2 alarms (1 active)</a>" in content
    )


def test_series_page_of_a_series_without_alarms_says_so(manager_client, series):
    response = manager_client.get(reverse("admin:timeseries_series_change", args=[series.pk]))

    assert response.status_code == 200
    assert '<div class="readonly">None.</div>' in response.content.decode()


def test_site_page_lists_the_alarms_of_its_series(manager_client, org):
    site = SiteFactory(organization=org)
    on_site = alarm(SeriesFactory(organization=org, site=site), T0)
    elsewhere = alarm(SeriesFactory(organization=org), T0 + H)

    content = manager_client.get(reverse("admin:tenancy_site_change", args=[site.pk])).content.decode()

    assert f'data-alarm="{on_site.pk}"' in content
    assert f'data-alarm="{elsewhere.pk}"' not in content
    assert (
        f'<a href="/admin/alarms/alarm/?site={site.pk}" class="ems-alarms-link">All 1 alarm (1 active)</a>'
        in content
    )


def test_pages_show_no_alarms_to_a_user_who_may_not_view_them(viewer_client, org, series):
    site = SiteFactory(organization=org)
    series.site = site
    series.save()
    alarm(series, T0)

    for url in (
        reverse("admin:timeseries_series_change", args=[series.pk]),
        reverse("admin:tenancy_site_change", args=[site.pk]),
    ):
        response = viewer_client.get(url)
        assert response.status_code == 200
        assert "data-alarm=" not in response.content.decode()
        assert "ems-alarms-link" not in response.content.decode()

    chart = viewer_client.get(
        reverse("admin:timeseries_series_chart", args=[series.pk]), {"start": ms(T0), "end": ms(T0 + H)}
    )
    assert chart.status_code == 200
    assert "markers" not in chart.json()


def test_chart_json_marks_where_the_series_alarms_opened_and_cleared_in_the_range(
    manager_client, org, series
):
    before = alarm(series, T0 - 2 * H, cleared=T0 + H, name="before")  # opened before the range
    inside = alarm(series, T0 + 2 * H, severity="critical", name="inside")  # still active
    alarm(series, T0 + 5 * H, name="after")  # after the range
    alarm(SeriesFactory(organization=org), T0 + H, name="another series")

    response = manager_client.get(
        reverse("admin:timeseries_series_chart", args=[series.pk]), {"start": ms(T0), "end": ms(T0 + 4 * H)}
    )

    assert response.status_code == 200
    assert response.json()["markers"] == [
        {"ts": ms(T0 + H), "event": "cleared", "alarm": before.pk, "severity": "major", "rule": "before"},
        {
            "ts": ms(T0 + 2 * H),
            "event": "opened",
            "alarm": inside.pk,
            "severity": "critical",
            "rule": "inside",
        },
    ]
