import logging

import pytest
from django.apps import apps as django_apps
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from apps.tenancy.services import membership_grant
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import UserFactory


def scrape(client) -> dict[tuple, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def superuser_client(client, db):
    """A superuser's client: the metrics are installation-wide, so only superusers read them."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_metrics_need_a_superuser_login_or_the_token(client, db, settings):
    settings.METRICS_TOKEN = "s" * 40

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {'s' * 40}").status_code == 200


def test_staff_users_who_are_not_superusers_get_no_metrics(client, org, settings):
    settings.METRICS_TOKEN = ""
    manager = UserFactory(is_staff=True)
    membership_grant(user=manager, organization=org, role_slugs=["facility-manager"])
    client.force_login(manager)

    response = client.get("/metrics")

    assert response.status_code == 403
    assert b"ems_requests_total" not in response.content


def test_no_token_configured_means_superusers_only(client, db, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_requests_are_counted_per_dialect_and_status(superuser_client, world):
    before = scrape(superuser_client)

    APIClient().get("/ver")
    APIClient().get("/v1/devices")  # 401
    after = scrape(superuser_client)

    def delta(status):
        key = ("ems_requests_total", (("dialect", "gavazzi"), ("status", status)))
        return after.get(key, 0) - before.get(key, 0)

    assert (delta("200"), delta("401")) == (1, 1)
    assert after[("ems_request_seconds_count", (("dialect", "gavazzi"),))] >= 2


def test_points_written_and_import_jobs_are_exposed(superuser_client, series):
    before = scrape(superuser_client).get(("ems_points_written_total", (("policy", "overwrite"),)), 0)

    write(SampleBatch([series.pk] * 3, [1, 2, 3], [1.0, 2.0, 3.0]), Policy.OVERWRITE)

    after = scrape(superuser_client)
    assert after[("ems_points_written_total", (("policy", "overwrite"),))] - before == 3
    assert after[("ems_import_jobs", (("status", "done"),))] == 0


def test_the_import_jobs_registered_by_the_imports_app_are_exposed_once(superuser_client):
    """ImportsConfig.ready() registers the import gauges (the metrics app imports no app below
    it); a second ready() (an app registry populated again) registers nothing more."""
    django_apps.get_app_config("imports").ready()

    response = superuser_client.get("/metrics")

    assert response.content.decode().count("# TYPE ems_import_jobs gauge") == 1


def test_the_request_log_never_holds_credentials(world, caplog):
    blynk = world["blynk"]
    with caplog.at_level(logging.INFO, logger="ems.requests"):
        APIClient().post(
            f"/oauth2/token?grant_type=client_credentials&client_id={blynk['client_id']}"
            f"&client_secret={blynk['client_secret']}"
        )
        APIClient().post("/v1/auth/login", {"username": "admin", "password": "s3cret!"}, format="json")
        token = (
            APIClient()
            .post("/v1/auth/login", {"username": "admin", "password": "s3cret!"}, format="json")
            .json()["token"]
        )
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        api.get("/v1/sn")

    text = caplog.text
    assert (
        "POST /oauth2/token?grant_type=client_credentials&client_id=demo-blynk&client_secret=*** 200" in text
    )
    assert "GET /v1/sn 200" in text
    for secret in (blynk["client_secret"], "s3cret!", token):
        assert secret not in text
