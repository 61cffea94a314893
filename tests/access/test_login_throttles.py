"""Failed-login throttles (issue 13, items 11 and 12): keyed on the account the login checks and
on the client address behind the trusted proxies, for the API logins and for /admin/login/
(django-axes)."""

import io
import logging
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.tenancy.models import Organization
from apps.tenancy.services import membership_grant
from tests.factories import UserFactory

PROXY = "10.0.0.1"
ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def ems_login(username: str, password: str, **extra):
    return APIClient().post(
        "/v1/auth/login", {"username": username, "password": password}, format="json", **extra
    )


def blynk_login(world: dict, username: str, password: str, **extra):
    """Blynk's user_credentials grant (the client by HTTP Basic); `extra` is request META."""
    from tests.api.dialect_clients import basic

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(world["blynk"]["client_id"], world["blynk"]["client_secret"]))
    query = urlencode({"grant_type": "user_credentials", "username": username, "password": password})
    return client.post(f"/oauth2/token?{query}", **extra)


def via_proxy(client_ip: str) -> dict:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{client_ip}"}


# --- the "who" of a login attempt -------------------------------------------------------------


def test_the_key_is_the_account_when_there_is_one_else_the_case_folded_name():
    from apps.access.logins import login_throttle_key

    class Account:
        pk = 7

    assert login_throttle_key(username="anything", account=Account()) == "account:7"
    assert login_throttle_key(username="Nobody", account=None) == "name:nobody"
    assert login_throttle_key(username="NOBODY", account=None) == "name:nobody"
    assert login_throttle_key(username="\uff4eobody", account=None) == "name:nobody"  # NFKC: a fullwidth n


@pytest.fixture
def mail_user(world):
    """A Blynk user of the world organization whose e-mail address has an i in it."""
    user = UserFactory(username="facility", email="admin@site.example")
    membership_grant(user=user, organization=Organization.objects.get(slug="demo"), role_slugs=["api"])
    return user


@pytest.mark.parametrize(
    "spelling",
    [
        "ADMIN@SITE.EXAMPLE",
        pytest.param(
            "adm\u0131n@site.example",
            marks=pytest.mark.skipif(
                not ON_POSTGRESQL, reason="SQLite's case-insensitive match knows only ASCII"
            ),
        ),
    ],
)
def test_a_locked_account_stays_locked_under_every_spelling_its_login_accepts(world, mail_user, spelling):
    # The spelling logs in to the account (the database's case-insensitive match) ...
    assert blynk_login(world, spelling, "correct horse battery").status_code == 200
    for _ in range(10):
        assert blynk_login(world, "admin@site.example", "wrong").status_code == 400

    # ... so once the account is locked, it is locked under that spelling too.
    blocked = blynk_login(world, spelling, "correct horse battery")

    assert blocked.status_code == 429
    assert blocked.json()["error"] == "slow_down"


def test_the_ems_login_counts_the_account_whatever_name_failed(world):
    for _ in range(10):
        assert ems_login("nobody", "bad").status_code == 401

    assert ems_login("NOBODY", "bad").status_code == 429  # one name, one key
    assert ems_login("admin", "s3cret!").status_code == 200  # another account


# --- behind a reverse proxy -------------------------------------------------------------------


def test_behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_the_others(world, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for _ in range(10):
        assert ems_login("admin", "bad", **via_proxy("203.0.113.7")).status_code == 401

    assert ems_login("admin", "s3cret!", **via_proxy("203.0.113.7")).status_code == 429
    assert ems_login("admin", "s3cret!", **via_proxy("198.51.100.20")).status_code == 200


def test_a_client_cannot_escape_the_throttle_by_forging_x_forwarded_for(world, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for i in range(10):
        forged = {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": f"198.51.100.{i}"}
        assert ems_login("admin", "bad", **forged).status_code == 401
    through_proxy = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.99, 203.0.113.7"}

    assert ems_login("admin", "s3cret!", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert ems_login("admin", "s3cret!", **through_proxy).status_code == 429


def test_blynk_logins_key_on_the_proxied_client_too(world, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    user = world["blynk"]["user"]
    for _ in range(10):
        assert blynk_login(world, user["username"], "bad", **via_proxy("203.0.113.7")).status_code == 400

    assert (
        blynk_login(world, user["username"], user["password"], **via_proxy("203.0.113.7")).status_code == 429
    )
    assert (
        blynk_login(world, user["username"], user["password"], **via_proxy("198.51.100.2")).status_code == 200
    )


# --- /admin/login/ (django-axes) --------------------------------------------------------------


def admin_login(client, username: str, password: str, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


@pytest.fixture
def staff(org):
    user = UserFactory(username="manager", is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])
    return user


def test_the_admin_login_locks_an_account_after_ten_failures(client, staff):
    failures = [admin_login(client, "manager", "wrong").status_code for _ in range(10)]

    locked = admin_login(client, "manager", "correct horse battery")

    assert failures == [200] * 9 + [429]
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    assert b"Too many failed logins" in locked.content
    assert client.get("/admin/").status_code == 302  # not logged in


def test_an_admin_account_lock_holds_from_every_address_but_not_for_other_accounts(client, staff, org):
    other = UserFactory(username="other-manager", is_staff=True)
    membership_grant(user=other, organization=org, role_slugs=["facility-manager"])
    for _ in range(10):
        admin_login(client, "manager", "wrong", REMOTE_ADDR="203.0.113.7")

    from_elsewhere = admin_login(client, "manager", "correct horse battery", REMOTE_ADDR="198.51.100.2")
    other_account = admin_login(client, "other-manager", "correct horse battery", REMOTE_ADDR="198.51.100.2")

    assert from_elsewhere.status_code == 429
    assert other_account.status_code == 302


def test_an_admin_client_address_is_locked_after_ten_failures_over_any_names(client, staff):
    for i in range(10):
        admin_login(client, f"guess{i}", "wrong", REMOTE_ADDR="203.0.113.7")

    same_address = admin_login(client, "manager", "correct horse battery", REMOTE_ADDR="203.0.113.7")
    other_address = admin_login(client, "manager", "correct horse battery", REMOTE_ADDR="198.51.100.2")

    assert same_address.status_code == 429
    assert other_address.status_code == 302


def test_the_admin_login_keys_on_the_client_behind_a_trusted_proxy(client, staff, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for i in range(10):
        admin_login(client, f"guess{i}", "wrong", **via_proxy("203.0.113.7"))

    assert (
        admin_login(client, "manager", "correct horse battery", **via_proxy("203.0.113.7")).status_code == 429
    )
    assert (
        admin_login(client, "manager", "correct horse battery", **via_proxy("198.51.100.2")).status_code
        == 302
    )


def test_an_admin_lock_ends_after_the_lockout_time(client, staff):
    for _ in range(10):
        admin_login(client, "manager", "wrong")

    with time_machine.travel(timedelta(seconds=301)):
        response = admin_login(client, "manager", "correct horse battery")

    assert response.status_code == 302


def test_api_login_failures_do_not_count_toward_the_admin_lock_nor_log_errors(client, world, caplog):
    with caplog.at_level(logging.INFO):
        for _ in range(10):
            assert ems_login("admin", "bad").status_code == 401

    assert admin_login(client, "admin", "s3cret!").status_code == 302
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_an_admin_lock_is_lifted_by_axes_reset_username_with_the_user_name(client, staff):
    for _ in range(10):
        admin_login(client, "manager", "wrong")

    call_command("axes_reset_username", "manager", stdout=io.StringIO())

    assert admin_login(client, "manager", "correct horse battery").status_code == 302
