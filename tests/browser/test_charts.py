"""The chart of a signal's change page, drawn by Chromium: the demo day, zooming in, and the
min/max band once the range holds more samples than a chart draws."""

import calendar
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.alarms.models import Alarm, AlarmRule
from apps.inventory.models import Signal
from apps.timeseries.charts import MAX_POINTS
from apps.timeseries.selectors import series_zone
from apps.timeseries.store import Policy, SampleBatch, write
from tests.browser.chart_page import CHART, wait_for_new_range

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
READY = f"{CHART}[data-state=ready]"


def chart_state(page) -> dict:
    return page.eval_on_selector(
        CHART,
        """root => ({
            points: Number(root.dataset.points),
            periodMs: root.dataset.periodMs ? Number(root.dataset.periodMs) : null,
            drawn: root.emsChart.plot.data[0].length,
            canvas: root.querySelector("canvas") ? root.querySelector("canvas").width : 0,
            status: root.querySelector("[data-role=status]").textContent,
        })""",
    )


def chart_range(page) -> tuple[int, int]:
    return tuple(page.eval_on_selector(CHART, "root => [root.emsChart.start, root.emsChart.end]"))


def wall_clock(ms: int) -> str:
    """A datetime-local input's value for epoch ms, in UTC (the demo organization's time zone)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def signal_100(demo):
    return Signal.objects.select_related("series").get(organization__slug="demo", uid=100)


def test_signal_chart_draws_the_demo_day_and_zooms_in(
    page, live_server, demo, signal_100, admin_login, screenshot
):
    change_path = f"/admin/inventory/signal/{signal_100.pk}/change/"

    admin_login(demo["admin"]["username"], demo["admin"]["password"], change_path)
    page.wait_for_selector(READY)

    day = chart_state(page)
    screenshot("chart-signal-100-day")
    # One-minute samples over the last day; the oldest may just have left the 24 h window.
    assert 1438 <= day["points"] <= 1440
    assert day["drawn"] == day["points"]
    assert day["periodMs"] is None
    assert day["canvas"] > 0
    assert page.locator(f"{CHART} button[data-range='86400000']").get_attribute("aria-pressed") == "true"

    plot = page.locator(f"{CHART} .u-over").bounding_box()
    y = plot["y"] + plot["height"] / 2
    page.mouse.move(plot["x"] + plot["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] * 0.5, y, steps=5)
    page.mouse.up()
    wait_for_new_range(page, day["status"])

    zoomed = chart_state(page)
    screenshot("chart-signal-100-zoomed")
    assert 300 <= zoomed["points"] <= 420  # a quarter of the day: ~360 minutes
    assert page.errors == []


def test_signal_chart_draws_min_max_bands_past_the_point_cap(
    page, live_server, demo, signal_100, admin_login, screenshot
):
    # Three more days of one-minute samples before the demo day: 5,760 in the last week.
    series = signal_100.series
    first = series.last_ts - 4 * DAY + MINUTE
    ts = list(range(first, series.last_ts - DAY + MINUTE, MINUTE))
    values = [230 + 3 * math.sin(i / 229) + ((i * 7) % 10 - 4.5) * 0.4 for i in range(len(ts))]
    write(
        SampleBatch([series.pk] * len(ts), ts, values),
        Policy.OVERWRITE,
    )
    change_path = f"/admin/inventory/signal/{signal_100.pk}/change/"
    admin_login(demo["admin"]["username"], demo["admin"]["password"], change_path)
    page.wait_for_selector(READY)
    before = chart_state(page)["status"]

    page.click(f"{CHART} button[data-range='604800000']")
    wait_for_new_range(page, before)

    week = chart_state(page)
    screenshot("chart-signal-100-week")
    assert week["periodMs"] == 10 * MINUTE
    assert 0 < week["points"] <= MAX_POINTS
    assert week["drawn"] >= week["points"]  # a null breaks the line at each gap
    assert page.locator(f"{CHART} .u-legend").inner_text().count("Max") == 1
    assert page.errors == []


def test_series_page_shows_the_chart_and_the_daily_totals(
    page, live_server, demo, signal_100, admin_login, screenshot
):
    series_path = f"/admin/timeseries/series/{signal_100.series_id}/change/"

    admin_login(demo["admin"]["username"], demo["admin"]["password"], series_path)
    page.wait_for_selector(READY)

    screenshot("chart-series-page")
    assert 1438 <= chart_state(page)["points"] <= 1440
    today = datetime.now(ZoneInfo(series_zone(signal_100.series)))  # the days of this month
    assert page.locator("#daily-totals tbody tr").count() == calendar.monthrange(today.year, today.month)[1]
    assert page.locator("#monthly-totals tbody tr").count() == 12
    assert page.errors == []


def test_signal_chart_pans_and_shows_a_custom_range(
    page, live_server, demo, signal_100, admin_login, screenshot
):
    change_path = f"/admin/inventory/signal/{signal_100.pk}/change/"
    admin_login(demo["admin"]["username"], demo["admin"]["password"], change_path)
    page.wait_for_selector(READY)
    page.click(f"{CHART} button[data-range='3600000']")
    # One-minute samples in the last hour: 59 to 61 of them, depending on where in its minute "now" is.
    page.wait_for_function(f"[59, 60, 61].includes(Number(document.querySelector('{CHART}').dataset.points))")
    hour = chart_range(page)

    previous = chart_state(page)["status"]
    page.click(f"{CHART} button[data-pan='-0.5']")
    wait_for_new_range(page, previous)
    earlier = chart_range(page)
    assert earlier == (hour[0] - 30 * MINUTE, hour[1] - 30 * MINUTE)

    plot = page.locator(f"{CHART} .u-over").bounding_box()
    y = plot["y"] + plot["height"] / 2
    previous = chart_state(page)["status"]
    page.keyboard.down("Shift")
    page.mouse.move(plot["x"] + plot["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] * 0.75, y, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    wait_for_new_range(page, previous)
    panned = chart_range(page)
    assert panned[1] - panned[0] == HOUR  # moved, not zoomed
    assert abs((earlier[0] - panned[0]) - 30 * MINUTE) < 2 * MINUTE  # half the width: half an hour back

    # A custom range is typed on the organization's wall clock (UTC for the demo).
    previous = chart_state(page)["status"]
    custom = page.locator(f"{CHART} form[data-role=custom]")
    custom.locator("input[name=start]").fill(wall_clock(signal_100.series.last_ts - 4 * HOUR))
    custom.locator("input[name=end]").fill(wall_clock(signal_100.series.last_ts - HOUR))
    custom.locator("button[type=submit]").click()
    wait_for_new_range(page, previous)
    screenshot("chart-signal-100-custom")
    start, end = chart_range(page)
    assert end - start == 3 * HOUR
    assert chart_state(page)["points"] == 180
    assert page.url.endswith(change_path)  # the chart's form did not submit the signal's
    assert page.errors == []


def test_series_chart_draws_a_line_where_an_alarm_opened_and_where_it_cleared(
    page, live_server, demo, signal_100, admin_login, screenshot
):
    series = signal_100.series
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    opened, cleared = now - timedelta(hours=6), now - timedelta(hours=3)
    rule = AlarmRule.objects.create(
        organization=series.organization, name="marker test", kind="threshold", scope="series", series=series,
        severity="major", limit=1,
    )  # fmt: skip
    Alarm.objects.create(
        organization=series.organization, rule=rule, series=series, severity="major", started_at=opened,
        updated_at=opened, cleared_at=cleared, message="above 1",
    )  # fmt: skip

    admin_login(
        demo["admin"]["username"], demo["admin"]["password"], f"/admin/timeseries/series/{series.pk}/change/"
    )
    page.wait_for_selector(READY)

    screenshot("chart-series-alarm-markers")
    assert page.get_attribute(CHART, "data-markers") == "2"
    # The pixels around each marker's position at the top of the plot: the line's 1-2 device
    # pixels may be anti-aliased across two columns (a blend with the background), so a marker is
    # found as a clearly red or clearly green pixel among them, not as an exact colour.
    columns = page.eval_on_selector(
        CHART,
        """(root, moments) => {
            const u = root.emsChart.plot;
            const ctx = u.ctx;
            return moments.map((ms) => {
                const x = Math.round(u.valToPos(ms, "x", true));
                return [-2, -1, 0, 1, 2].map((dx) =>
                    Array.from(ctx.getImageData(x + dx, u.bbox.top + 1, 1, 1).data.slice(0, 3)));
            });
        }""",
        [int(opened.timestamp() * 1000), int(cleared.timestamp() * 1000)],
    )

    def reddish(r, g, b):  # the opened marker, #ba2121, or a blend of it with the background
        return r - max(g, b) >= 30

    def greenish(r, g, b):  # the cleared marker, #2e7d32, or a blend of it
        return g - max(r, b) >= 25

    opened_pixels, cleared_pixels = columns
    assert any(reddish(*pixel) for pixel in opened_pixels), opened_pixels
    assert not any(greenish(*pixel) for pixel in opened_pixels), opened_pixels
    assert any(greenish(*pixel) for pixel in cleared_pixels), cleared_pixels
    assert not any(reddish(*pixel) for pixel in cleared_pixels), cleared_pixels
    assert page.errors == []
