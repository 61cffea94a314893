"""The console's query counts (issue #15, "Performance"): every console page and JSON endpoint runs
the same number of queries whether it shows 2 rows or 20, and that number is pinned here, so a
change that adds a query a row (or any query) fails.

Each case is requested by a staff facility manager of an organization holding `n` sites,
devices (a load each), and kWh counters (one per device, on a site, with two days of
quarter-hourly samples written through the store, so their statistics exist and the dashboard's
energy overview has figures), plus the same again in another organization the user may not see.
"Rows shown": the series of the analysis page and of statistics.json, the search's results, the
export form's series, the changelists' rows, the dashboard's sites and series, the change page's
choices of site.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenancy.services import membership_grant
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import (
    DeviceFactory,
    LoadFactory,
    OrganizationFactory,
    SeriesFactory,
    SignalFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUARTER_MS = 900_000
DAY_MS = 86_400_000
STATISTICS = "/admin/analytics/statistics.json?{}&start={}&end={}&bucket={}"


def _world(organization, n: int, now_ms: int) -> list[int]:
    """`n` sites, devices, loads, signals and counters (with samples) of `organization`; returns
    the series' ids."""
    start_ms = (now_ms // DAY_MS - 1) * DAY_MS
    stamps = list(range(start_ms, now_ms, QUARTER_MS))
    ids = []
    for i in range(n):
        site = SiteFactory(organization=organization, name=f"Building {i}", floor_area=100.0 + i)
        device = DeviceFactory(organization=organization, site=site, label=f"Cabinet {i}")
        series = SeriesFactory(
            organization=organization,
            site=site,
            name=f"Building meter {i}",
            meter_code=f"M{i}",
            kind="counter",
            unit="kWh",
        )
        SignalFactory(load=LoadFactory(device=device, organization=organization), series=series)
        ids.append(series.pk)
    write(
        SampleBatch(
            [sid for sid in ids for _ in stamps],
            [ts for _ in ids for ts in stamps],
            [float(k) for _ in ids for k in range(len(stamps))],
        ),
        Policy.OVERWRITE,
    )
    return ids


@pytest.fixture(params=[2, 20], ids=["2 rows", "20 rows"])
def shown(request, client):
    """(client of a facility manager, the series ids of their organization) with n of everything."""
    import time

    now_ms = int(time.time() * 1000) // QUARTER_MS * QUARTER_MS
    mine = OrganizationFactory(name="Acme", slug="acme", time_zone="Europe/Berlin")
    ids = _world(mine, request.param, now_ms)
    _world(OrganizationFactory(name="Other", slug="other"), request.param, now_ms)
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=mine, role_slugs=["facility-manager"])
    client.force_login(user)
    return client, ids


def queries_of(client, path: str, *, showing: list[str]) -> int:
    """The queries of one GET of `path`, which must answer 200 with each of `showing` in its
    body (the rows the count is about are there)."""
    client.get(path)  # once before: what a first request caches (content types) is not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode()
    assert [text for text in showing if text not in body] == []
    return len(captured)


def meters(ids: list[int], most: int = 100) -> list[str]:
    """The names of the first `most` of the organization's series (by name order)."""
    return sorted(f"Building meter {i}" for i in range(len(ids)))[:most]


def series_params(ids: list[int], most: int) -> str:
    return "&".join(f"series={sid}" for sid in ids[:most])


# Pinned counts: session and user (2) come first on every admin page.


def test_admin_index_with_the_dashboard(shown):
    client, _ids = shown
    assert queries_of(client, "/admin/", showing=[f"Building {i}" for i in range(len(_ids))]) == 15


def test_analysis_page(shown):
    client, ids = shown
    assert (
        queries_of(
            client,
            f"/admin/analytics/?{series_params(ids, 10)}",
            showing=[f"Building meter {i}" for i in range(len(ids[:10]))],
        )
        == 6
    )


def test_statistics_json_of_a_year_of_days(shown):
    client, ids = shown
    path = STATISTICS.format(series_params(ids, 20), "2025-01-01", "2026-01-01", "day")
    assert queries_of(client, path, showing=[f'"id":{sid},' for sid in ids[:20]]) == 7


def test_statistics_json_of_hours(shown):
    client, ids = shown
    path = STATISTICS.format(series_params(ids, 20), "2025-06-01", "2025-06-03", "hour")
    assert queries_of(client, path, showing=[f'"id":{sid},' for sid in ids[:20]]) == 7


def test_series_search(shown):
    client, ids = shown
    response = client.get("/admin/analytics/series.json?q=building+meter")
    assert len(response.json()["series"]) == len(ids)
    assert queries_of(client, "/admin/analytics/series.json?q=building+meter", showing=meters(ids)) == 6


def test_export_form(shown):
    client, _ids = shown
    assert queries_of(client, "/admin/analytics/export/", showing=meters(_ids)) == 6


def test_series_change_page(shown):
    client, ids = shown
    assert (
        queries_of(
            client,
            f"/admin/timeseries/series/{ids[0]}/change/",
            showing=[f">Building {i}<" for i in range(len(ids))],
        )
        == 13
    )


def test_series_changelist(shown):
    client, _ids = shown
    assert queries_of(client, "/admin/timeseries/series/", showing=meters(_ids)) == 10


def test_site_changelist(shown):
    client, _ids = shown
    assert (
        queries_of(client, "/admin/tenancy/site/", showing=[f">Building {i}<" for i in range(len(_ids))]) == 9
    )


def test_site_change_page(shown):
    client, _ids = shown
    from apps.tenancy.models import Site

    site = Site.objects.filter(organization__slug="acme").first()
    assert queries_of(client, f"/admin/tenancy/site/{site.pk}/change/", showing=[site.name]) == 8


def test_device_changelist(shown):
    client, _ids = shown
    assert (
        queries_of(client, "/admin/inventory/device/", showing=[f"Cabinet {i}" for i in range(len(_ids))])
        == 11  # one of them: may the user import a configuration CSV (the list's "Import CSV" button)
    )
