"""GET /ems/api/import/<job>/ (a project extension, API.md §1): the job's lifecycle."""

import uuid

import pytest
from django.db import connection

from apps.imports.models import ImportJob
from apps.imports.tasks import import_run_task

from .conftest import IMPORT_URL

BODY = [
    {"id_type": "meter_code", "id_value": "my_meter_code1", "series": {"datetime": [0, 60], "val": [1, 2]}},
    {"id_type": "meter_code", "id_value": "my_meter_code2", "series": {"datetime": [0], "val": [3]}},
]


def test_a_job_is_queued_until_its_task_runs_then_done(api):
    accepted = api.post(BODY, run=False)
    location = accepted.headers["Location"]

    queued = api.get(location)
    import_run_task.delay(accepted.json()["job"])
    done = api.get(location)

    job = ImportJob.objects.get()
    assert queued.status_code == 200
    assert queued.json() == {
        "job": str(job.pk),
        "status": "queued",
        "variables": 2,
        "points": 3,
        "written": 0,
        "error": None,
        "created": job.created_at.isoformat().replace("+00:00", "Z"),
        "finished": None,
    }
    assert done.json() == queued.json() | {
        "status": "done",
        "written": 3,
        "finished": job.finished_at.isoformat().replace("+00:00", "Z"),
    }


def test_a_failed_job_reports_its_error(api):
    accepted = api.post(BODY, run=False)
    ImportJob.objects.update(status="failed", error="No variable with id 5 exists.")

    body = api.get(accepted.headers["Location"]).json()

    assert (body["status"], body["error"]) == ("failed", "No variable with id 5 exists.")


def test_the_status_request_never_reads_the_payload(api):
    location = api.post(BODY).headers["Location"]

    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert api.get(location).status_code == 200

    job_queries = [q["sql"] for q in queries if "imports_importjob" in q["sql"]]
    assert len(job_queries) == 1
    assert "payload" not in job_queries[0].replace("payload_bytes", "")


@pytest.mark.parametrize(
    "job_id", [str(uuid.uuid4()), "not-a-uuid", "1"], ids=["unknown", "not a uuid", "an integer"]
)
def test_an_unknown_job_is_404(api, job_id):
    response = api.get(f"{IMPORT_URL}{job_id}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_another_organizations_job_is_404_like_a_missing_one(api, other_api):
    location = api.post(BODY).headers["Location"]

    theirs = other_api.get(location)
    missing = other_api.get(f"{IMPORT_URL}{uuid.uuid4()}/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "Not found."}


def test_the_status_needs_a_token(api, client):
    location = api.post(BODY).headers["Location"]

    response = client.get(location)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
