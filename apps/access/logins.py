"""Who a password login attempt is about, as the login throttles key it.

The throttles count failures per (who, client address). "Who" must be the account the login
would check, not the text typed: a key of Python's `lower()` next to the database's
case-insensitive e-mail match let `adm\u0131n@…` (U+0131, the dotless i, which PostgreSQL's
UPPER() maps to I) log in to the account `admin@…` had locked. So a username that names an
account (by the very lookup the login uses) is keyed on the account's id; any other on its NFKC
case-folded form, so that spellings no lookup tells apart share one key.

The admin's login throttle is django-axes (settings AXES_*): this module gives it the same keys
and the same client address (apps.core.clients), and keeps it to the admin site. The API logins
(EMS gateway, Blynk user credentials) keep their own per-minute throttle
(apps.api.common.login_failures), which answers in each dialect's shape.
"""

import unicodedata
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.contrib.auth import get_user_model
from django.shortcuts import render

from apps.core.clients import client_address
from apps.core.text import NUL


def username_canonical(username: str) -> str:
    """NFKC case folding (Unicode's identifier-caseless match), as one key for every spelling."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def login_throttle_key(*, username: str, account) -> str:
    """The throttle's "who" for a login attempt naming `username`, which the login's own lookup
    resolved to `account` (None: no account)."""
    if account is not None:
        return f"account:{account.pk}"
    return f"name:{username_canonical(username)}"


def account_for_username(username: str):
    """The user Django's ModelBackend checks a password against (its exact USERNAME_FIELD
    lookup), active or not; None when there is none (a name holding a NUL names nobody and is not
    looked up: PostgreSQL refuses the query)."""
    if NUL in username:
        return None
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def organization_member_for_login(*, organization, username: str):
    """The active member of `organization` a login name names: the user name, else the e-mail
    address (case-insensitive; the lowest id when several share it); None when none does (or the
    name holds a NUL, which PostgreSQL refuses to compare)."""
    if NUL in username:
        return None
    members = get_user_model().objects.filter(memberships__organization=organization, is_active=True)
    return (
        members.filter(username=username).first()
        or members.filter(email__iexact=username).order_by("pk").first()
    )


# --- django-axes, for /admin/login/ ----------------------------------------------------------


class AdminLoginBackend(AxesStandaloneBackend):
    """Axes' lockout check, for the logins that pass their request to authenticate(): the
    admin's. A call without a request (the test client's `login()`) is not a login form's and
    is left to the other backends instead of raising as axes does."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class AdminLoginHandler(AxesDatabaseHandler):
    """Axes' database handler, counting only the admin site's failed logins: the API logins
    authenticate with their request too, but are throttled (and answered) by their dialect."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None or not self.is_admin_request(request):
            return None
        return super().user_login_failed(sender, credentials, request, **kwargs)


def axes_username(request, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: who the admin login attempt is about, as axes stores it: the
    account's user name when the name is one (the admin's lookup is exact), else the NFKC
    case-folded name. Readable on the attempt records, and what `axes_reset_username` takes.
    (An unknown name that folds to an account's name counts for that account: only stricter.)
    Memoized on the request, which axes asks several times."""
    username = (credentials or {}).get("username")
    if username is None:
        username = getattr(request, "POST", {}).get("username", "")
    memo = request.__dict__.setdefault("_login_throttle_names", {})
    if username not in memo:
        account = account_for_username(username)
        memo[username] = account.get_username() if account is not None else username_canonical(username)
    return memo[username]


def axes_client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same client address as the API logins' (None when unknown,
    which axes stores as no address)."""
    return client_address(request) or None


def admin_lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the admin's login page says why it refuses, 429 with Retry-After."""
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = max(1, int(cool_off.total_seconds()))
    response = render(
        request,
        "admin/login_locked.html",
        {"title": "Too many failed logins", "minutes": (seconds + 59) // 60},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
