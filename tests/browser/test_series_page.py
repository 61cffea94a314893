"""A series' change page as the demo's facility manager sees it at 1,366 px: headed by the
series' name, its chart's "year" drawn per local day and "all" from its first to its last sample."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from apps.timeseries.models import Series
from apps.timeseries.selectors import series_zone
from tests.browser.chart_page import CHART, wait_for_new_range

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def status(page) -> str:
    return page.inner_text(f"{CHART} [data-role=status]")


def sample_times(series) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ts FROM timeseries_sample WHERE series_id = %s ORDER BY ts", [series.pk])
        return [row[0] for row in cursor.fetchall()]


def test_the_series_page_is_headed_by_its_name_and_charts_a_year_by_day_and_all_its_samples(
    page, live_server, demo, admin_login, screenshot
):
    series = Series.objects.select_related("site", "organization").get(
        organization__slug="demo", meter_code="my_meter_code1"
    )
    assert series.meter_code != series.name
    times = sample_times(series)
    zone = ZoneInfo(series_zone(series))
    local_days = sorted({datetime.fromtimestamp(ts / 1000, zone).date() for ts in times})
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")
    page.goto(f"{live_server.url}/admin/timeseries/series/{series.pk}/change/")
    page.wait_for_selector(f"{CHART}[data-state=ready]")

    assert page.inner_text("#content > h2").startswith(series.name)
    assert page.title().startswith(f"{series.name} |")

    before = status(page)
    page.click(f"{CHART} button[data-range='31536000000']")
    wait_for_new_range(page, before)
    screenshot("series-year")
    assert page.get_attribute(CHART, "data-bucket") == "day"
    assert page.get_attribute(CHART, "data-points") == str(len(local_days))  # the days with samples
    drawn_days = page.eval_on_selector(CHART, "root => root.emsChart.plot.data[0]")
    assert drawn_days[0] == int(datetime.combine(local_days[0], datetime.min.time(), zone).timestamp() * 1000)
    assert page.get_attribute(f"{CHART} button[data-range='31536000000']", "aria-pressed") == "true"

    before = status(page)
    page.click(f"{CHART} button[data-range=all]")
    wait_for_new_range(page, before)
    screenshot("series-all")
    start, end = page.eval_on_selector(CHART, "root => [root.emsChart.start, root.emsChart.end]")
    assert (start, end) == (times[0], times[-1] + 1)
    assert page.get_attribute(CHART, "data-bucket") == ""  # two days: the ladder's periods
    assert page.get_attribute(f"{CHART} button[data-range=all]", "aria-pressed") == "true"
    assert page.errors == []
