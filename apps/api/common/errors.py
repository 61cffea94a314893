"""Turning any exception a view can meet into one neutral Problem; each dialect renders Problems
in its own error shape (its errors.py), so the classification lives in one place."""

import dataclasses
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, DataError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core import exceptions as ems

logger = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"
DATA_ERROR_MESSAGE = "The request holds a value the database cannot take."
STATEMENT_TIMEOUT_MESSAGE = "The request took longer than the server allows; try again later."
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled (by statement_timeout)


@dataclass(frozen=True)
class Problem:
    status: int
    message: str
    field: str | None = None
    index: int | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class Unauthorized(drf.APIException):
    """401 from a view that authenticates by itself (login and token endpoints)."""

    status_code = 401
    default_detail = "Invalid credentials."


class PayloadTooLarge(drf.APIException):
    status_code = 413
    default_detail = "Request body is too large."


class LengthRequired(drf.APIException):
    """411: a chunked body the server cannot read to its end (no `wsgi.input_terminated`)."""

    status_code = 411
    default_detail = "Content-Length is required."


class OAuthError(drf.APIException):
    """An OAuth 2 token-endpoint error (RFC 6749 §5.2): `error` is the code, the detail its
    description. Both token-issuing dialects (Blynk, Building X) raise it; each renders it in its
    token endpoint's handler, as `{"error": ..., "error_description": ...}`."""

    status_code = 400

    def __init__(self, error: str, description: str, *, status: int = 400, headers: dict | None = None):
        super().__init__(description)
        self.error = error
        self.status_code = status
        self.headers = headers


def oauth_error_response(exc: OAuthError) -> Response:
    return Response(
        {"error": exc.error, "error_description": str(exc.detail)},
        status=exc.status_code,
        headers=exc.headers,
    )


def problem_for(exc: Exception) -> Problem | None:
    """The Problem for `exc`, or None for an exception nobody planned for (a real 500)."""
    match exc:
        case ems.NotFound():
            return Problem(404, exc.message, exc.field)
        case ems.Invalid():
            return Problem(400, exc.message, exc.field, exc.index)
        case ems.PermissionDenied():
            return Problem(403, exc.message, exc.field)
        case ems.QuotaExceeded():
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
            return Problem(429, exc.message, exc.field, headers=headers)
        case drf.Throttled():
            headers = {"Retry-After": str(exc.wait)} if exc.wait is not None else {}
            return Problem(429, "Too many requests.", headers=headers)
        case drf.APIException():
            return Problem(exc.status_code, _detail_text(exc.detail), headers=_auth_headers(exc))
        case Http404():
            return Problem(404, "Not found.")
        case DjangoPermissionDenied():
            return Problem(403, "Permission denied.")
        case DataError():
            # SQLSTATE class 22: the database refused a value (a NUL in text, a number out of
            # range), not its service. A client's mistake that got past validation: a 400, and a
            # warning to add the missing check, not an outage.
            logger.warning("database refused a value: %s", exc)
            return Problem(400, DATA_ERROR_MESSAGE)
        case DatabaseError() if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
            # The request's statement timeout (apps/api/common/timeout.py): the database is
            # fine, this request asked too much of it.
            logger.warning("statement cancelled: %s", exc)
            return Problem(503, STATEMENT_TIMEOUT_MESSAGE, headers={"Retry-After": DATABASE_RETRY_AFTER})
        case DatabaseError():
            logger.exception("database unavailable")
            return Problem(
                503, "Service temporarily unavailable.", headers={"Retry-After": DATABASE_RETRY_AFTER}
            )
    return None


def _auth_headers(exc: drf.APIException) -> dict[str, str]:
    header = getattr(exc, "auth_header", None)
    return {"WWW-Authenticate": header} if header else {}


def _detail_text(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_detail_text(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_detail_text(value)}" for key, value in detail.items())
    return str(detail)
