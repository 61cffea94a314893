"""The facility manager's console in Chromium at 1,366 px, as the demo's facility manager: three
meters over last year by month (a figure read from the chart's hover legend), the heat map, the
export of two series as a semicolon CSV with decimal commas, and the organization's time zone
moving the local days of the analysis page. Every figure checked is computed here from the
stored samples, independently of the statistics and the pages."""

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.selectors import BucketSize, series_zone, statistics_read
from apps.timeseries.stats.basis import statistics_stale_enqueue
from apps.timeseries.store import Policy, SampleBatch, write

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 900}
ROOT = "#analysis"
READY = f"{ROOT}[data-state=ready]"
HOUR = 3_600_000


def samples(series) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value FROM timeseries_sample WHERE series_id = %s ORDER BY ts", [series.pk]
        )
        return [tuple(row) for row in cursor.fetchall()]


def local_date(ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, zone).date()


def demo_series(**filters) -> list[Series]:
    return list(
        Series.objects.filter(organization__slug="demo", **filters)
        .select_related("site", "organization")
        .order_by("name")
    )


@pytest.fixture
def laptop(page):
    page.set_viewport_size(LAPTOP)
    return page


@pytest.fixture
def last_december(settings):
    """Demo meters reaching back to 1 December of last year (a whole month of last year), no
    further: the seed's cost grows with its days."""
    today = timezone.now().date()
    settings.EMS_DEMO_METER_DAYS = (today - date(today.year - 1, 12, 1)).days + 2
    return date(today.year - 1, 12, 1)


def test_three_meters_over_last_year_by_month_show_the_stored_december_figure_on_hover(
    laptop, live_server, last_december, demo, admin_login, screenshot
):
    page = laptop
    # Each meter's December consumption from its samples: the demo meters are interval series
    # (kWh per quarter-hour, stamped at its start), so the sum of the samples dated in a December
    # day of the meter's own zone.
    expected = {}
    for meter in demo_series(kind="interval", unit="kWh"):
        zone = ZoneInfo(series_zone(meter))
        december = [
            value for ts, value in samples(meter) if local_date(ts, zone).replace(day=1) == last_december
        ]
        if december:
            expected[meter.name] = sum(december)
    candidates = [one for one in demo_series(kind="interval", unit="kWh") if one.name in expected]
    # One meter of each site (Europe/Rome, Europe/Lisbon: each series' buckets are its own zone's
    # months), then the next by name.
    meters = list({series_zone(one): one for one in reversed(candidates)}.values())
    meters += [one for one in candidates if one not in meters][: 3 - len(meters)]
    assert len(meters) == 3
    assert len({series_zone(meter) for meter in meters}) == 2
    for meter in meters:
        stored = statistics_read(
            [meter], start=last_december, end=date(last_december.year + 1, 1, 1), bucket=BucketSize.MONTH
        )[meter.pk]
        assert stored.total[0] == pytest.approx(expected[meter.name], rel=1e-9)
    ids = "&".join(f"series={meter.pk}" for meter in meters)
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/analytics/")
    page.goto(f"{live_server.url}/admin/analytics/?{ids}&range=last_year&bucket=month")
    page.wait_for_selector(READY, timeout=60_000)  # a year of hours for the heat map too
    assert page.get_attribute(ROOT, "data-buckets") == "12"

    # The pointer over 4 December: the legend shows the December bucket of each meter.
    x, y = page.eval_on_selector(
        ROOT,
        """root => {
            const u = root.emsAnalysis.plot;
            const box = u.over.getBoundingClientRect();
            return [box.left + u.valToPos(u.data[0][11] + 3 * 86400000, "x"), box.top + box.height / 2];
        }""",
    )
    page.mouse.move(x, y)
    page.wait_for_function("root => root.emsAnalysis.plot.cursor.idx === 11", arg=page.query_selector(ROOT))
    screenshot("console-three-meters-last-year")
    legend = dict(
        page.eval_on_selector_all(
            f"{ROOT} .u-legend .u-series",
            "rows => rows.map(r => [r.querySelector('.u-label').textContent, "
            "r.querySelector('.u-value').textContent])",
        )
    )
    for meter in meters:
        shown = legend[meter.name]
        assert shown.endswith(" kWh"), shown
        figure = float(shown.removesuffix(" kWh").replace(",", ""))
        # Shown with one decimal from 100 up, three below.
        assert figure == pytest.approx(expected[meter.name], abs=0.05 if figure >= 100 else 0.0005), (
            meter.name
        )
        assert figure > 0
    assert page.errors == []


def test_the_heat_map_draws_an_hour_cell_for_each_hour_with_samples(
    laptop, live_server, demo, admin_login, screenshot
):
    page = laptop
    power = next(one for one in demo_series(kind="measurement") if samples(one))
    zone = ZoneInfo(series_zone(power))
    today = timezone.now().date()  # the demo organization's zone is UTC: the range's days
    hours = {
        (local_date(ts, zone), datetime.fromtimestamp(ts / 1000, zone).hour)
        for ts, _ in samples(power)
        if today - timedelta(days=6) <= local_date(ts, zone) <= today
    }
    assert len(hours) >= 12
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/analytics/")
    page.goto(f"{live_server.url}/admin/analytics/?series={power.pk}&range=7d&bucket=day&heat={power.pk}")
    page.wait_for_selector(READY)
    heat = page.locator(f"#analysis-heatmap table[data-series='{power.pk}']")
    heat.wait_for()

    heat.scroll_into_view_if_needed()
    screenshot("console-heat-map")
    cells = heat.locator("tbody td[style*=background]")
    assert cells.count() == len(hours)
    assert heat.locator("tbody tr").count() == len({day for day, _ in hours})
    colours = set(cells.evaluate_all("cells => cells.map(c => c.style.background)"))
    assert len(colours) > 1  # a scale, not one flat colour
    # Drawn: the cells have a size on the screen.
    assert cells.first.evaluate("c => c.getBoundingClientRect().width * c.getBoundingClientRect().height") > 0
    assert page.errors == []


def test_two_series_exported_as_semicolon_csv_with_decimal_commas_read_back_as_stored(
    laptop, live_server, demo, admin_login, screenshot, tmp_path
):
    page = laptop
    chosen = [one for one in demo_series(kind="measurement") if samples(one)][:2]
    assert len(chosen) == 2
    today = timezone.now().date()
    start, end = today - timedelta(days=3), today + timedelta(days=1)
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/analytics/export/")

    page.select_option("#export-series", [str(one.pk) for one in chosen])
    page.fill("#export-start", start.isoformat())
    page.fill("#export-end", end.isoformat())
    page.select_option("#export-bucket", "samples")
    page.select_option("#export-shape", "long")
    page.select_option("#export-time", "utc")
    page.select_option("#export-delimiter", ";")
    page.select_option("#export-decimal", ",")
    screenshot("console-export-form")
    with page.expect_download() as download_info:
        page.click("#series-export-form input[type=submit][value='Download CSV']")
    path = Path(tmp_path) / "export.csv"
    download_info.value.save_as(path)

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["series_id", "timestamp", "value"]
    read = {}
    for series_id, stamp, value in rows[1:]:
        ms = int(datetime.fromisoformat(stamp).timestamp() * 1000)
        read[(int(series_id), ms)] = float(value.replace(",", "."))
    assert any("," in value for _, _, value in rows[1:])  # decimal commas, not points
    assert not any("." in value for _, _, value in rows[1:])
    stored = {}
    for one in chosen:
        zone = ZoneInfo(series_zone(one))
        for ts, value in samples(one):
            if start <= local_date(ts, zone) < end:
                stored[(one.pk, ts)] = value
    assert read == stored
    assert page.errors == []


def test_a_new_organization_time_zone_moves_the_local_days_of_the_analysis_page(
    laptop, live_server, demo, admin_login, screenshot
):
    page = laptop
    organization = Organization.objects.get(slug="demo")
    assert organization.time_zone == "UTC"
    # An interval series of the organization without a site (so in the organization's zone): one
    # unit an hour over two UTC days.
    meter = Series.objects.create(organization=organization, name="Boiler hours", kind="interval", unit="h")
    first = datetime.combine(timezone.now().date() - timedelta(days=4), datetime.min.time(), UTC)
    first_ms = int(first.timestamp() * 1000)
    write(
        SampleBatch([meter.pk] * 48, [first_ms + i * HOUR for i in range(48)], [1.0] * 48), Policy.OVERWRITE
    )
    days = [first.date() + timedelta(days=i) for i in range(3)]
    analysis = f"/admin/analytics/?series={meter.pk}&range=custom&start={days[0]}&end={days[2]}&bucket=day"

    def day_rows() -> list[list[str]]:
        page.goto(f"{live_server.url}{analysis}")
        page.wait_for_selector(READY)
        return page.eval_on_selector_all(
            "#analysis-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )

    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/")
    none = "\u2013"  # the table's dash for a day without samples
    assert day_rows() == [[f"{days[0]} 00:00", "24"], [f"{days[1]} 00:00", "24"], [f"{days[2]} 00:00", none]]
    assert page.text_content("#analysis-table thead th") == "Start (UTC)"

    # The facility manager changes the organization's zone on its admin page.
    page.goto(f"{live_server.url}/admin/tenancy/organization/{organization.pk}/change/")
    page.fill("input[name=time_zone]", "Asia/Tokyo")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    organization.refresh_from_db()
    assert organization.time_zone == "Asia/Tokyo"
    statistics_stale_enqueue()  # what celery beat runs every minute: the days of the new zone

    # Tokyo is 9 hours ahead: the first UTC day's hours fall on its 09:00 to midnight (15), the
    # last nine on the third day.
    assert day_rows() == [[f"{days[0]} 00:00", "15"], [f"{days[1]} 00:00", "24"], [f"{days[2]} 00:00", "9"]]
    assert page.text_content("#analysis-table thead th") == "Start (Asia/Tokyo)"
    screenshot("console-time-zone-moved")
    assert page.errors == []
