"""The CSV import as the demo's facility manager does it in Chromium: upload a file, read the
preview, import it, watch the progress bar reach done, and find the values on the series page."""

import pytest

from apps.core.time import ms_to_iso
from apps.imports.services import import_run
from apps.timeseries.models import Series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MINUTE = 60_000
JOB = "#import-job"


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    """Uploaded files are kept between preview and import; here in the test's own directory."""
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def test_a_csv_file_is_previewed_imported_and_followed_until_done(
    page, live_server, demo, admin_login, screenshot, monkeypatch
):
    series = Series.objects.get(organization__slug="demo", meter_code="my_meter_code1")
    # Three minutes after the demo day, so the values are the series' newest samples.
    rows = [(series.last_ts + (i + 1) * MINUTE, 4000 + i + 0.125) for i in range(3)]
    text = "meter_code,timestamp,value\n" + "".join(f"my_meter_code1,{ms_to_iso(t)},{v}\n" for t, v in rows)
    # Hold the run back, as a broker does until a worker takes the job: the page shows it queued
    # until the test runs it, then the bar must catch up by itself.
    enqueued = []
    monkeypatch.setattr("apps.imports.services._enqueue", enqueued.append)

    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/imports/importjob/import-csv/")
    page.set_input_files(
        "#id_file", files=[{"name": "meters.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    page.click("input[name=preview]")
    page.wait_for_selector("#csv-preview")

    screenshot("csv-import-preview")
    assert page.locator("#csv-preview").get_attribute("data-ok") == "true"
    assert page.locator("#csv-format [data-field=form]").inner_text().startswith("Long")
    assert page.locator("#csv-format [data-field=points]").inner_text() == "3"
    assert "Main active power" in page.locator("#csv-series tr[data-label=my_meter_code1]").inner_text()
    assert page.locator("#csv-rows tbody tr").count() == 3

    page.click("#import-button")
    page.wait_for_selector(f"{JOB}[data-state=queued]")
    screenshot("csv-import-queued")
    assert len(enqueued) == 1
    assert page.eval_on_selector(f"{JOB} progress", "bar => [bar.value, bar.max]") == [0, 3]

    import_run(job_id=enqueued[0])
    page.wait_for_selector(f"{JOB}[data-state=done]")

    screenshot("csv-import-done")
    assert page.eval_on_selector(f"{JOB} progress", "bar => [bar.value, bar.max]") == [3, 3]
    assert page.locator(f"{JOB} [data-role=text]").inner_text() == "Done: 3 of 3 samples written (100 %)."

    page.click(f"#import-series a[data-series='{series.pk}']")
    page.wait_for_selector("#latest-samples")
    newest = page.locator("#latest-samples tbody tr").all_inner_texts()[:3]
    screenshot("csv-import-series")
    assert [row.split("\t")[1:3] for row in newest] == [[str(t), str(v)] for t, v in reversed(rows)]
    assert page.errors == []
