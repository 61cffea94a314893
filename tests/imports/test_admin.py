"""The import jobs' admin: list, filters, detail without the payload, the retry action."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.imports.admin import SERIES_SHOWN
from apps.imports.models import ImportJob
from apps.imports.services import import_run
from tests.factories import SeriesFactory, UserFactory

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
