"""The Blynk dialect's two error shapes, each produced in one place.

- Every datastream endpoint: `{"error": {"message": "<text>"}}` (API.md §2).
- The token endpoint: RFC 6749 §5.2, `{"error": "<code>", "error_description": "<text>"}`.
"""

from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.api.common.errors import OAuthError, oauth_error_response, problem_for

# The vendor's messages, verbatim (API.md §2), grammar included.
DEVICE_NOT_FOUND = "Device with identifier {} is not found or belong to another organization."
DATASTREAM_NOT_FOUND = "Data stream with identifier {} is not found!"

CLIENT_CHALLENGE = "Basic"


def exception_handler(exc, context):
    problem = problem_for(exc)
    if problem is None:
        return None
    return Response({"error": {"message": problem.message}}, status=problem.status, headers=problem.headers)


# Statuses with no RFC 6749 code of their own: 429 borrows `slow_down` (RFC 8628), 503 the
# authorization endpoint's `temporarily_unavailable`; 405, 413 and 415 are malformed requests.
_CODE_FOR_STATUS = {429: "slow_down", 503: "temporarily_unavailable"}


def token_exception_handler(exc, context):
    """Every error of POST /oauth2/token in the RFC 6749 shape. A client that presents no or
    wrong credentials is `invalid_client` (401, `WWW-Authenticate: Basic`)."""
    if isinstance(exc, OAuthError):
        return oauth_error_response(exc)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        description = (
            "Client authentication is required: HTTP Basic or client_id and client_secret."
            if isinstance(exc, drf.NotAuthenticated)
            else str(exc.detail)
        )
        return Response(
            {"error": "invalid_client", "error_description": description},
            status=401,
            headers={"WWW-Authenticate": CLIENT_CHALLENGE},
        )
    problem = problem_for(exc)
    if problem is None:
        return None
    code = _CODE_FOR_STATUS.get(problem.status, "invalid_request")
    return Response(
        {"error": code, "error_description": problem.message}, status=problem.status, headers=problem.headers
    )
