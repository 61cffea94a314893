"""The admin index's dashboard as the demo's facility manager sees it."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_index_shows_the_dashboard_of_the_demo_organization(
    page, live_server, demo, admin_login, screenshot
):
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")

    overview = page.locator("#ems-overview tbody tr")
    screenshot("dashboard")
    assert overview.count() == 1
    assert overview.first.get_attribute("data-organization") == "demo"
    assert page.errors == []
