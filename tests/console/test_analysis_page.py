"""The analysis page, GET /admin/analytics/, and its series search, GET /admin/analytics/series.json
(apps/console/analysis.py; docs/energy.md, "The analysis page")."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from apps.tenancy.services import membership_grant
from tests.factories import (
    DataStreamFactory,
    DeviceFactory,
    SeriesFactory,
    SignalFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/admin/analytics/"
SEARCH = "/admin/analytics/series.json"


def config_of(response) -> dict:
    """The page's state for its script: the json_script element's content."""
    html = response.content.decode()
    start = html.index('<script id="analysis-config" type="application/json">') + len(
        '<script id="analysis-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


@pytest.fixture
def hall(org):
    return SiteFactory(organization=org, name="Hall", time_zone="Europe/Berlin")


@pytest.fixture
def main(org, hall):
    return SeriesFactory(
        organization=org, site=hall, name="Main", meter_code="M-1", kind="counter", unit="kWh"
    )


@pytest.fixture
def power(org):
    return SeriesFactory(organization=org, name="Power", unit="kW")


@pytest.fixture
def theirs(other_org):
    return SeriesFactory(organization=other_org, name="Main of the others", unit="kWh")


def test_the_page_names_the_series_of_the_url_that_the_user_may_view(
    manager_client, org, main, power, theirs
):
    response = manager_client.get(
        f"{PAGE}?series={power.pk}&series={theirs.pk}&series={main.pk}&series=x&series=99999999"
    )

    assert response.status_code == 200
    assert response.templates[0].name == "admin/ems/analysis.html"
    assert config_of(response) == {
        "series": [
            {
                "id": power.pk,
                "name": "Power",
                "meter_code": None,
                "kind": "measurement",
                "unit": "kW",
                "site": None,
                "organization": "Acme",
                "zone": org.time_zone,
            },
            {
                "id": main.pk,
                "name": "Main",
                "meter_code": "M-1",
                "kind": "counter",
                "unit": "kWh",
                "site": "Hall",
                "organization": "Acme",
                "zone": "Europe/Berlin",
            },
        ],
        "zone": org.time_zone,  # the first series shown: Power, of no site
        "today": datetime.now(ZoneInfo(org.time_zone)).date().isoformat(),
        "max_series": 10,
    }
    assert "Main of the others" not in response.content.decode()


def test_the_page_says_today_in_the_first_series_zone(manager_client, main):
    config = config_of(manager_client.get(f"{PAGE}?series={main.pk}"))

    assert config["zone"] == "Europe/Berlin"
    assert config["today"] == datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()


def test_without_series_the_page_is_in_the_users_organization_zone(manager_client, org):
    org.time_zone = "America/New_York"
    org.save()

    config = config_of(manager_client.get(PAGE))

    assert config["series"] == []
    assert config["zone"] == "America/New_York"


def test_at_most_10_series_are_shown(manager_client, org):
    eleven = [SeriesFactory(organization=org) for _ in range(11)]

    config = config_of(manager_client.get(PAGE + "?" + "&".join(f"series={one.pk}" for one in eleven)))

    assert [one["id"] for one in config["series"]] == [one.pk for one in eleven[:10]]


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, org):
    for url in (PAGE, f"{SEARCH}?q=main"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    member = UserFactory(is_staff=False)
    membership_grant(user=member, organization=org, role_slugs=["facility-manager"])
    client.force_login(member)

    assert client.get(PAGE).status_code == 302


def test_staff_who_may_view_no_series_are_refused(client, org):
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["api"])
    client.force_login(user)

    assert client.get(PAGE).status_code == 403
    response = client.get(f"{SEARCH}?q=main")
    assert response.status_code == 403
    assert response.json() == {"error": "you may not view series"}


def test_the_admin_index_links_to_the_page(manager_client):
    assert f'href="{PAGE}"' in manager_client.get("/admin/").content.decode()


def test_the_search_finds_series_by_name_meter_code_site_and_device(manager_client, org, main, power, theirs):
    device = DeviceFactory(organization=org, label="Boiler room")
    by_signal = SignalFactory(load__device=device, series__name="Flow")
    by_datastream = DataStreamFactory(device=device, series__name="Heat")

    def found(q: str) -> list[str]:
        response = manager_client.get(SEARCH, {"q": q})
        assert response.status_code == 200
        return [one["name"] for one in response.json()["series"]]

    assert found("main") == ["Main"]  # not the other organization's
    assert found("m-1") == ["Main"]
    assert found("hall") == ["Main"]
    assert found("boiler") == ["Flow", "Heat"]
    assert found("boiler heat") == ["Heat"]  # every word
    assert found("") == ["Flow", "Heat", "Main", "Power"]
    assert found("nothing") == []
    assert {by_signal.series.name, by_datastream.series.name} == {"Flow", "Heat"}


def test_the_search_answers_the_series_summaries(manager_client, org, main, theirs):
    response = manager_client.get(SEARCH, {"q": "Main"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "series": [
            {
                "id": main.pk,
                "name": "Main",
                "meter_code": "M-1",
                "kind": "counter",
                "unit": "kWh",
                "site": "Hall",
                "organization": "Acme",
                "zone": "Europe/Berlin",
            }
        ]
    }


def test_the_search_answers_at_most_20_and_only_get(manager_client, org):
    for n in range(21):
        SeriesFactory(organization=org, name=f"Meter {n:02}")

    body = manager_client.get(SEARCH, {"q": "meter"}).json()

    assert [one["name"] for one in body["series"]] == [f"Meter {n:02}" for n in range(20)]
    assert manager_client.post(SEARCH, {"q": "meter"}).status_code == 405
