"""The console's pages fit their window: the device pages and the import jobs at 1,366 px (a
common laptop), the series page at 390 px (a phone; the dashboard's run is in test_dashboard.py).
The page itself never scrolls sideways (a wide table may scroll inside its own box), and the
charts take the width."""

import pytest
from django.contrib.auth import get_user_model

from apps.imports.models import ImportJob
from apps.inventory.models import Device
from apps.timeseries.models import Series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def page_width(page) -> dict:
    """The page's scroll width and the elements that reach past the window (for the message)."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll("body *")]
                .filter((e) => e.getBoundingClientRect().right > width + 1)
                .filter((e) => !e.closest(".ems-scroll-x, .ems-analysis-scroll, .ems-table-scroll"))
                .slice(0, 8)
                .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join(".")}`
                    + ` ${Math.round(e.getBoundingClientRect().right)}`);
            return { scroll: document.documentElement.scrollWidth, window: width, wide };
        }"""
    )


def assert_fits(page, width: int) -> None:
    measured = page_width(page)
    assert measured["scroll"] <= width, measured


@pytest.mark.parametrize("who", ["facility-manager", "superuser"])  # a superuser's lists add columns
def test_device_pages_and_import_jobs_fit_a_1366_px_window(
    page, live_server, demo, admin_login, screenshot, who
):
    user = get_user_model().objects.get(username=demo["admin"]["username"])
    credentials = (demo["admin"]["username"], demo["admin"]["password"])
    if who == "superuser":
        get_user_model().objects.create_superuser("root", "root@example.com", "a long root password 1")
        credentials = ("root", "a long root password 1")
    organization = Series.objects.filter(organization__slug="demo").first().organization
    ImportJob.objects.create(
        organization=organization, user=user, dialect="csv", status="failed", variables=12, points=34_567,
        error="line 7: the meter code 'an-unknown-and-rather-long-meter-code-of-a-sub-meter' is unknown",
    )  # fmt: skip
    device = Device.objects.filter(organization=organization, datastreams__isnull=False).distinct().first()
    page.set_viewport_size(LAPTOP)
    admin_login(*credentials, "/admin/")

    for name, path in [
        ("device-list", "/admin/inventory/device/"),
        ("device-change", f"/admin/inventory/device/{device.pk}/change/"),
        ("import-jobs", "/admin/imports/importjob/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        screenshot(f"layout-1366-{name}-{who}")
        assert_fits(page, LAPTOP["width"])
        if name == "device-change":
            streams = page.locator(".inline-group", has_text="Data streams")
            assert streams.locator("tbody tr.form-row.has_original").count() == device.datastreams.count()
            # It fits without scrolling inside its own box either.
            box = streams.locator("fieldset.module")
            assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), box.evaluate("e => e.scrollWidth")
        if name == "import-jobs":
            assert page.locator("#result_list tbody tr").count() == 1
    assert page.errors == []


def test_the_series_page_fits_a_390_px_phone_and_its_chart_takes_the_width(
    page, live_server, demo, admin_login, screenshot
):
    series = Series.objects.filter(organization__slug="demo", kind="counter").order_by("pk").first()
    page.set_viewport_size(PHONE)
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")
    page.goto(f"{live_server.url}/admin/timeseries/series/{series.pk}/change/")
    page.wait_for_selector("#series-chart[data-state=ready]")

    screenshot("layout-390-series")
    assert_fits(page, PHONE["width"])
    canvas = page.eval_on_selector("#series-chart canvas", "c => c.getBoundingClientRect().width")
    assert 250 <= canvas <= PHONE["width"]
    assert page.errors == []
