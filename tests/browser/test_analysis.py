"""The analysis page drawn by Chromium: two series from the URL, the chart and the bucket table,
"compare with" changing the URL, and the back button restoring the previous view."""

import pytest

from apps.timeseries.models import Series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "#analysis"
READY = f"{ROOT}[data-state=ready]"


def wait_ready_after(page, previous_status: str) -> None:
    page.wait_for_function(
        """([selector, previous]) => {
            const root = document.querySelector(selector);
            return root.dataset.state === "ready"
                && root.querySelector("[data-role=status]").textContent !== previous;
        }""",
        arg=[ROOT, previous_status],
    )


def status(page) -> str:
    return page.inner_text(f"{ROOT} [data-role=status]")


def test_the_analysis_page_draws_two_series_and_compares_with_the_previous_period(
    page, live_server, demo, admin_login, screenshot
):
    counter = Series.objects.filter(organization__slug="demo", kind="counter").order_by("pk").first()
    measurement = Series.objects.filter(organization__slug="demo", kind="measurement").order_by("pk").first()
    path = f"/admin/analytics/?series={counter.pk}&series={measurement.pk}&range=7d&bucket=auto"

    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/analytics/")
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector(READY)

    screenshot("analysis-two-series")
    # Seven local days of hourly buckets (no clock change in them): auto keeps them within 400.
    assert page.get_attribute(ROOT, "data-bucket") == "hour"
    assert page.get_attribute(ROOT, "data-buckets") == "168"
    assert page.locator(f"{ROOT} [data-role=plot] canvas").count() >= 1
    assert page.eval_on_selector(ROOT, "root => root.emsAnalysis.plot.series.length") == 1 + 1 + 3
    assert page.locator("#analysis-table tbody tr").count() == 168
    assert page.locator("#analysis-table thead th").count() == 3
    assert page.locator(f"{ROOT} [data-role=chosen] li").count() == 2
    assert page.locator("#analysis-heatmap tbody tr").count() >= 1  # the days with samples

    before = status(page)
    page.click(f"{ROOT} button[data-compare=previous]")
    page.wait_for_url("**compare=previous**")
    wait_ready_after(page, before)

    screenshot("analysis-compare-previous")
    assert page.locator("#analysis-table thead th").count() == 5
    assert page.eval_on_selector(ROOT, "root => root.emsAnalysis.plot.series.length") == 1 + 2 * (1 + 3)
    assert page.get_attribute(f"{ROOT} button[data-compare=previous]", "aria-pressed") == "true"

    compared = status(page)
    page.go_back()
    page.wait_for_url(lambda url: "compare=" not in url)
    wait_ready_after(page, compared)
    assert page.locator("#analysis-table thead th").count() == 3
    assert page.get_attribute(f"{ROOT} button[data-compare='']", "aria-pressed") == "true"
    assert page.errors == []


def test_a_series_found_by_the_search_is_added_to_the_url(page, live_server, demo, admin_login, screenshot):
    first, second = Series.objects.filter(organization__slug="demo").order_by("pk")[:2]
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/analytics/")
    page.goto(f"{live_server.url}/admin/analytics/?series={first.pk}&range=today&bucket=hour")
    page.wait_for_selector(READY)
    assert page.get_attribute(ROOT, "data-buckets") == "24"

    before = status(page)
    page.fill(f"{ROOT} [data-role=search]", second.name)
    page.click(f"{ROOT} [data-role=results] button[data-add='{second.pk}']")
    page.wait_for_url(f"**series={first.pk}&series={second.pk}&**")
    wait_ready_after(page, before)

    screenshot("analysis-search-added")
    assert page.locator(f"{ROOT} [data-role=chosen] li").count() == 2
    assert page.locator("#analysis-table thead th").count() == 3
    assert page.errors == []
