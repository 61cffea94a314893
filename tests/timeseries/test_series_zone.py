"""A series' local calendar is its site's time zone, else its organization's (issue #14)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from apps.timeseries.selectors import series_zone
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import OrganizationFactory, SeriesFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_series_zone_is_the_sites_else_the_organizations():
    organization = OrganizationFactory(time_zone="Europe/Rome")
    site = SiteFactory(organization=organization, time_zone="America/New_York")

    assert series_zone(SeriesFactory(organization=organization, site=site)) == "America/New_York"
    assert series_zone(SeriesFactory(organization=organization)) == "Europe/Rome"


def test_the_series_page_totals_local_days_in_its_sites_zone(client):
    # 2026-01-15T11:30Z is the 15th in the organization's UTC, already the 16th in Auckland (+13).
    organization = OrganizationFactory(time_zone="UTC")
    site = SiteFactory(organization=organization, time_zone="Pacific/Auckland")
    series = SeriesFactory(organization=organization, site=site)
    write(SampleBatch([series.pk], [1_768_476_600_000], [5.0]), Policy.OVERWRITE)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with time_machine.travel(datetime(2026, 1, 16, 12, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("admin:timeseries_series_change", args=[series.pk]))

    totals = response.context["totals"]
    assert totals.time_zone == "Pacific/Auckland"
    assert response.context["chart"]["time_zone"] == "Pacific/Auckland"
    counted = [(day.label, day.count) for day in totals.days if day.count]
    assert counted == [("2026-01-16 Fri", 1)]


def test_the_series_chart_reads_a_time_without_offset_in_its_sites_zone(client):
    organization = OrganizationFactory(time_zone="UTC")
    series = SeriesFactory(
        organization=organization, site=SiteFactory(organization=organization, time_zone="Asia/Tokyo")
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(
        reverse("admin:timeseries_series_chart", args=[series.pk]),
        {"start": "2026-01-16T09:00", "end": "2026-01-16T10:00"},
    )

    assert response.status_code == 200
    assert response.json()["start"] == 1_768_521_600_000  # 2026-01-16T00:00Z, 09:00 in Tokyo
