"""A new secret waits for its one admin page server-side and sealed, never in the session: it
expires on time even when the page is never opened, and concurrent requests for the page show it
once."""

import http.client
import threading
from importlib import import_module
from urllib.parse import urlsplit

import pytest
from django.apps import apps as installed_apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.access.models import ApiToken, OAuthClient, ShownOnceSecret
from apps.access.services import SHOWN_ONCE_SECONDS
from apps.access.tasks import shown_once_prune_task
from apps.tenancy.services import membership_grant, roles_sync
from tests.factories import OrganizationFactory, UserFactory

ADD_TOKEN = reverse("admin:access_apitoken_add")


def stored_text() -> str:
    """Everything the session and shown-once tables hold, sessions decoded."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    sessions = [f"{s.session_data} {store.decode(s.session_data)}" for s in Session.objects.all()]
    rows = [f"{row.ticket_digest} {row.session_digest} {row.sealed}" for row in ShownOnceSecret.objects.all()]
    return "\n".join(sessions + rows)


def session_keys(client: Client) -> set[str]:
    return set(client.session.keys())


@pytest.fixture
def issuer(db, client):
    """A token administrator of a small organization, and a member to issue tokens for."""
    organization = OrganizationFactory()
    admin = UserFactory(is_staff=True)
    membership_grant(user=admin, organization=organization, role_slugs=["token-administrator"])
    client.force_login(admin)
    client.member = UserFactory()
    membership_grant(user=client.member, organization=organization, role_slugs=["api"])
    return client


def test_a_new_secret_is_kept_sealed_and_never_in_the_session(issuer):
    response = issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    waiting = stored_text()
    keys_while_waiting = session_keys(issuer)

    page = issuer.get(response.url)

    [entry] = page.context["entries"]
    assert ApiToken.objects.get().prefix == entry["secret"][:8]
    assert entry["secret"] not in waiting
    assert entry["secret"][:8] not in waiting
    assert not any(key.startswith("access") for key in keys_while_waiting)
    assert not ShownOnceSecret.objects.exists()
    assert entry["secret"] not in stored_text()


def test_a_secret_whose_page_is_never_opened_expires_on_time(issuer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    in_time = issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    late = issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    prefixes = list(ApiToken.objects.values_list("prefix", flat=True))

    time_machine.shift(SHOWN_ONCE_SECONDS - 1)
    assert issuer.get(in_time.url).status_code == 200
    time_machine.shift(2)
    assert shown_once_prune_task() == 1

    assert not ShownOnceSecret.objects.exists()
    text = stored_text()
    assert not any(prefix in text for prefix in prefixes)
    page = issuer.get(late.url)
    assert page.status_code == 410
    assert page.context["entries"] is None


def test_unshown_secrets_are_pruned_on_the_beat_schedule_well_within_their_lifetime():
    entry = settings.CELERY_BEAT_SCHEDULE["access-prune-shown-once"]

    assert entry["task"] == shown_once_prune_task.name == "access.prune_shown_once"
    assert 0 < entry["schedule"] <= SHOWN_ONCE_SECONDS / 10


def test_an_expired_secret_is_refused_before_any_prune(issuer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    response = issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    time_machine.shift(SHOWN_ONCE_SECONDS + 1)

    page = issuer.get(response.url)

    assert page.status_code == 410
    assert page.context["entries"] is None


def test_the_next_secret_prunes_the_expired_ones(issuer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    time_machine.shift(SHOWN_ONCE_SECONDS)

    issuer.post(ADD_TOKEN, {"user": issuer.member.pk})

    assert ShownOnceSecret.objects.count() == 1


def test_a_forged_or_wrong_ticket_shows_nothing_and_uses_nothing_up(issuer):
    response = issuer.post(ADD_TOKEN, {"user": issuer.member.pk})
    ticket = response.url.rstrip("/").rsplit("/", 1)[1]
    wrong = reverse(
        "admin:access_apitoken_shown_once", args=[ticket[:-1] + ("A" if ticket[-1] != "A" else "B")]
    )

    assert issuer.get(wrong).status_code == 410
    assert issuer.get(response.url).status_code == 200


def test_secrets_stashed_in_sessions_by_the_old_admin_are_scrubbed(issuer):
    """Migration 0005 drops what the admin used to keep in plaintext in the session."""
    session = issuer.session
    session["access_shown_once"] = {"ticket": {"entries": [{"secret": "plaintext-secret"}]}}
    session.save()
    migration = import_module("apps.access.migrations.0005_shownoncesecret")

    migration.scrub_sessions(installed_apps, None)

    assert "plaintext-secret" not in stored_text()
    assert "_auth_user_id" in issuer.session


@pytest.mark.django_db(transaction=True)
def test_six_concurrent_requests_for_a_secret_show_it_once(live_server):
    # The test run's in-memory SQLite database reaches the live server's threads as one shared
    # connection, so their transactions interleave on it (seen once in CI: all six answered 410);
    # concurrency is proven where requests have connections of their own.
    if connection.vendor != "postgresql":
        pytest.skip("the live server's threads share the test run's one SQLite connection")
    roles_sync()
    organization = OrganizationFactory()
    admin = UserFactory(is_staff=True)
    membership_grant(user=admin, organization=organization, role_slugs=["token-administrator"])
    client = Client()
    client.force_login(admin)
    response = client.post(reverse("admin:access_oauthclient_add"), {"dialect": "blynk", "name": "Gateway"})
    assert response.status_code == 302
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    server = urlsplit(live_server.url)
    start = threading.Barrier(6)
    answers: list[tuple[int, bytes]] = []

    def get() -> None:
        http_connection = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
        start.wait()
        http_connection.request("GET", response.url, headers={"Cookie": cookie})
        answer = http_connection.getresponse()
        answers.append((answer.status, answer.read()))
        http_connection.close()

    threads = [threading.Thread(target=get) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [200, 410, 410, 410, 410, 410]
    client_id = OAuthClient.objects.get().client_id
    assert [client_id.encode() in body for status, body in answers if status == 200] == [True]
    assert not ShownOnceSecret.objects.exists()
