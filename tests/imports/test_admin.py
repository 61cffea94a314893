"""The import jobs' admin: list, filters, detail without the payload, the retry action, and its
pages of the CSV import of samples (the upload with its preview, a job's progress)."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.uploads.reader import csv_decode
from apps.imports.admin import SERIES_SHOWN
from apps.imports.models import ImportJob
from apps.imports.samples_csv.samples import csv_import_accept, csv_samples_parse
from apps.imports.services import import_run
from apps.timeseries.models import Series
from tests.factories import SeriesFactory, UserFactory, staff_user

LIST = "/admin/imports/importjob/"


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_list_shows_who_sent_what_and_how_far_it_got(admin_client, accept, series):
    job = accept([(series, [(1000, 1.0), (2000, 2.0)])], run=True)

    response = admin_client.get(LIST)

    assert response.status_code == 200
    text = response.content.decode()
    assert str(job.pk)[:8] in text
    assert "importer" in text
    assert "2 (100 %)" in text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("?status__exact=done", {"done"}),
        ("?status__exact=failed", {"failed"}),
        ("?dialect__exact=iotorq", {"done", "failed"}),
        ("?dialect__exact=csv", set()),
        ("?q=importer", {"done", "failed"}),
        ("?q=no-such-thing", set()),
    ],
)
def test_the_list_filters_by_status_and_dialect_and_searches(admin_client, accept, series, query, shown):
    accept([(series, [(1000, 1.0)])], run=True)
    failed = accept([(series, [(2000, 1.0)])])
    ImportJob.objects.filter(pk=failed.pk).update(status="failed")

    response = admin_client.get(LIST + query)

    assert response.status_code == 200
    assert {job.status for job in response.context["cl"].result_list} == shown


def test_a_job_is_found_by_its_id(admin_client, accept, series):
    job = accept([(series, [(1000, 1.0)])])
    accept([(series, [(2000, 1.0)])])

    response = admin_client.get(f"{LIST}?q={job.pk}")

    assert [j.pk for j in response.context["cl"].result_list] == [job.pk]


def test_the_list_never_loads_payloads(admin_client, accept, series):
    accept([(series, [(1000, 1.0)])])

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(LIST)

    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "imports_importjob" in q["sql"]]
    assert selects
    assert not any('"payload"' in sql for sql in selects)


def test_the_detail_page_links_the_series_and_never_renders_the_payload(admin_client, accept, org, series):
    many = [SeriesFactory(organization=org) for _ in range(SERIES_SHOWN + 2)]
    job = accept([(series, [(1000, 1.0)])] + [(s, [(1000, 2.0)]) for s in many])

    response = admin_client.get(f"{LIST}{job.pk}/change/")

    assert response.status_code == 200
    text = response.content.decode()
    assert f"/admin/timeseries/series/{series.pk}/change/" in text
    assert "and 3 more" in text
    assert f"{job.payload_bytes:,} bytes (packed; not shown)" in text


def test_a_done_jobs_detail_page_says_its_points_were_released(admin_client, accept, series):
    job = accept([(series, [(1000, 1.0), (2000, 2.0)])])
    import_run(job_id=job.pk)
    job.refresh_from_db()

    response = admin_client.get(f"{LIST}{job.pk}/change/")

    assert response.status_code == 200
    text = response.content.decode()
    assert f"{job.payload_bytes:,} bytes (packed; released when the job was done)" in text


def test_jobs_cannot_be_added_or_edited_in_the_admin(admin_client, accept, series):
    job = accept([(series, [(1000, 1.0)])])

    assert admin_client.get(f"{LIST}add/").status_code == 403
    response = admin_client.post(f"{LIST}{job.pk}/change/", {"status": "done"})
    assert response.status_code == 403
    assert ImportJob.objects.get().status == "queued"


def test_the_retry_action_queues_failed_jobs_again_and_says_how_many(
    admin_client, accept, series, django_capture_on_commit_callbacks
):
    failed = accept([(series, [(1000, 1.0)])])
    done = accept([(series, [(2000, 1.0)])], run=True)
    ImportJob.objects.filter(pk=failed.pk).update(status="failed", error="boom")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            LIST, {"action": "retry", "_selected_action": [str(failed.pk), str(done.pk)]}, follow=True
        )

    assert [str(m) for m in response.context["messages"]] == [
        "Queued 1 failed job again. 1 not failed, left alone."
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.error) == ("done", "")


def test_the_retry_action_needs_the_change_permission(client, accept, series):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(viewer)
    accept([(series, [(1000, 1.0)])])

    response = client.get(LIST)

    assert response.status_code == 200
    assert response.context["action_form"] is None  # retry was the only action it could have had


# --- the CSV import of samples and the job pages, pages of this admin ---------------------------

IMPORT = "/admin/imports/importjob/import-csv/"


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("meters.csv", text.encode(), content_type="text/csv")


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table in `<div id="table_id">`."""
    body = re.search(rf'id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def test_a_wide_files_preview_shows_each_columns_first_sample(client, org, series):
    SeriesFactory(organization=org, name="Sub meter", meter_code="sub", unit="kW")
    client.force_login(staff_user(org, roles=["facility-manager"]))

    response = client.post(
        IMPORT,
        {
            "file": upload(
                "timestamp;main;sub;spare\n"
                "2024-03-01 00:00;12,5;;\n"
                "2024-03-01 00:15;;3,25;\n"
                "2024-03-01 00:30;13;3,5;\n"
            ),
            "preview": "Preview",
        },
    )

    assert response.status_code == 200
    sub = Series.objects.get(meter_code="sub")
    assert table_rows(response.content.decode(), "csv-series") == [
        ["main (column 2)", "2", "12,5", "2", f"Main meter energy id {series.pk}"],
        ["sub (column 3)", "3", "3,25", "2", f"Sub meter id {sub.pk}, kW"],
        ["spare (column 4)", "\N{EN DASH}", "\N{EN DASH}", "0", "unknown"],
    ]
    assert not ImportJob.objects.exists()


def test_a_long_files_preview_shows_each_identifiers_first_sample(client, org, series):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    response = client.post(
        IMPORT,
        {"file": upload("main,2024-03-01,x\nmain,2024-03-02,2.5\nmain,2024-03-03,3\n"), "preview": "1"},
    )

    assert table_rows(response.content.decode(), "csv-series") == [
        ["main", "2", "2.5", "2", f"Main meter energy id {series.pk}"]
    ]


def test_importing_needs_the_permissions_to_change_series_and_follow_jobs(client, org, series):
    client.force_login(staff_user(org, "change_series", "view_series"))

    assert client.get(IMPORT).status_code == 403
    response = client.post(IMPORT, {"file": upload("main,2024-03-01,1\n"), "preview": "1"})

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_an_upload_without_a_file_is_a_form_error(client, org, series):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    response = client.post(IMPORT, {"preview": "Preview"})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Choose a CSV file."]
    assert response.context["parsed"] is None


def test_the_import_page_has_breadcrumbs_through_the_jobs(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    text = client.get(IMPORT).content.decode()

    assert '<a href="/admin/imports/importjob/">Import jobs</a>' in text
    assert "&rsaquo; Import samples from CSV" in text


def test_the_list_offers_the_import_to_whoever_may_import(client, org):
    client.force_login(staff_user(org, roles=["facility-manager"]))
    importer = client.get(LIST).content.decode()
    client.force_login(staff_user(org, "view_importjob"))
    viewer = client.get(LIST).content.decode()

    assert f'<a href="{IMPORT}" id="import-csv-link">Import CSV</a>' in importer
    assert 'id="import-csv-link"' not in viewer


@pytest.fixture
def csv_job(org, series, user, django_capture_on_commit_callbacks):
    parsed = csv_samples_parse(csv_decode(b"main,2024-03-01,1\n"), organization=org, time_zone="UTC")
    with django_capture_on_commit_callbacks(execute=False):
        return csv_import_accept(organization=org, user=user, parsed=parsed)


def test_a_job_is_followed_with_the_view_permission(client, org, csv_job):
    client.force_login(staff_user(org, "view_importjob"))

    page = client.get(f"{LIST}{csv_job.pk}/progress/")
    status = client.get(f"{LIST}{csv_job.pk}/status/")

    assert page.status_code == 200
    assert f'data-status-url="{LIST}{csv_job.pk}/status/"' in page.content.decode()
    assert 'class="button">Import another file' not in page.content.decode()
    assert (status.status_code, status.json()["status"]) == (200, "queued")
    assert "no-store" in status["Cache-Control"]


def test_following_a_job_needs_the_view_permission(client, org, csv_job):
    client.force_login(staff_user(org, "change_series", "view_series"))

    assert client.get(f"{LIST}{csv_job.pk}/progress/").status_code == 403
    status = client.get(f"{LIST}{csv_job.pk}/status/")
    assert (status.status_code, status.json()) == (403, {"error": "forbidden"})


def test_a_missing_or_malformed_job_is_not_found(client, org, csv_job):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    assert client.get(f"{LIST}00000000-0000-0000-0000-000000000000/progress/").status_code == 404
    assert client.get(f"{LIST}not-a-uuid/status/").json() == {"error": "not found"}


def test_the_old_addresses_redirect_permanently(client, org, csv_job):
    client.force_login(staff_user(org, roles=["facility-manager"]))

    pages = {
        "/admin/tools/import/": IMPORT,
        f"/admin/tools/jobs/{csv_job.pk}/": f"{LIST}{csv_job.pk}/progress/",
        f"/admin/tools/jobs/{csv_job.pk}/status/": f"{LIST}{csv_job.pk}/status/",
    }

    for old, new in pages.items():
        response = client.get(old)
        assert (response.status_code, response["Location"]) == (301, new)
