"""The admin index's dashboard as the demo's facility manager sees it, with an active alarm."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alarms.models import Alarm, AlarmRule
from apps.timeseries.models import Series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_index_shows_the_dashboard_of_the_demo_organization(
    page, live_server, demo, admin_login, screenshot
):
    series = Series.objects.filter(organization__slug="demo").order_by("pk").first()
    rule = AlarmRule.objects.create(
        organization=series.organization, name="Voltage high", kind="threshold", scope="series",
        series=series, severity="critical", limit=1,
    )  # fmt: skip
    started = timezone.now() - timedelta(minutes=42)
    Alarm.objects.create(
        organization=series.organization, rule=rule, series=series, severity="critical", started_at=started,
        updated_at=started, value=231.5, message="above 1",
    )  # fmt: skip
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")

    overview = page.locator("#ems-overview tbody tr")
    screenshot("dashboard")
    assert overview.count() == 1
    assert overview.first.get_attribute("data-organization") == "demo"
    assert page.locator("#ems-active-alarms td[data-severity=critical]").inner_text() == "1"
    assert (
        page.locator("#ems-active-alarm-list tbody tr").count()
        == Alarm.objects.filter(organization__slug="demo", cleared_at__isnull=True).count()
    )
    assert page.errors == []


@pytest.fixture
def full_demo_meters(settings):
    """The demo meters at their shipped length (a year and a month), so last year has figures."""
    settings.EMS_DEMO_METER_DAYS = 400


@pytest.mark.parametrize("width", [1366, 390])  # a laptop, a phone
def test_facility_manager_sees_this_month_against_last_year(
    page, live_server, full_demo_meters, demo, admin_login, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")

    energy = page.locator(".ems-energy[data-organization=demo]")
    screenshot(f"dashboard-energy-{width}")
    # The page never scrolls sideways; a table wider than a phone scrolls inside its module.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    building = energy.locator("tr[data-place='Demo building'][data-unit=kWh]")
    month = building.locator("td[data-period=month]")
    # A figure, not the dash shown for none.
    assert month.locator(".ems-energy-value").inner_text() not in ("", "\u2013")
    # This month so far beside the same days of last year: an arrow and a percentage.
    assert month.locator("[data-comparison='last yr']").inner_text().endswith("%")
    assert building.locator("td[data-intensity]").inner_text() != ""  # kWh/m², a floor area
    assert energy.locator("tr[data-place=Warehouse][data-unit=kWh]").count() == 1
    top = energy.locator(".ems-energy-top tbody tr")
    # Five kWh meters, the unmetered, the vendor demo's register and profile; the water meter (m³).
    assert top.count() == 9
    assert "virtual" in energy.locator(".ems-energy-top").inner_text()
    assert page.errors == []
