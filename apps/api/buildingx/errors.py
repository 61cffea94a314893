"""The Building X dialect's two error shapes, each produced in one place.

- The values endpoints: JSON:API error documents (API.md §3), for every status,
  `{"errors": [{"status": "400", "code": "invalid-timestamp", "title": "Invalid timestamp",
  "detail": "...", "source": {"pointer": "/data/3/attributes/timestamp"}}]}`. `source.pointer`
  names the offending member of the request document, `source.parameter` the offending query
  parameter; errors about no particular member (401, 404, ...) have no `source`.
- The token endpoint: the OAuth 2 shape `{"error": "...", "error_description": "..."}`.
"""

from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.api.common.errors import OAuthError, oauth_error_response, problem_for
from apps.core.exceptions import Invalid

# code -> title. A title names the kind of problem and never changes between occurrences
# (JSON:API); the detail says what exactly was wrong.
TITLES = {
    "malformed-json": "Malformed JSON",
    "missing-member": "Missing member",
    "invalid-member": "Invalid member",
    "invalid-count": "Invalid number of values",
    "invalid-resource-type": "Invalid resource type",
    "invalid-timestamp": "Invalid timestamp",
    "invalid-value": "Invalid value",
    "invalid-quality": "Invalid quality",
    "invalid-parameter": "Invalid query parameter",
    "unsupported-parameter": "Unsupported query parameter",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "length-required": "Length required",
    "payload-too-large": "Payload too large",
    "unsupported-media-type": "Unsupported media type",
    "too-many-requests": "Too many requests",
    "service-unavailable": "Service unavailable",
}
CODE_FOR_STATUS = {
    400: "invalid-member",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    411: "length-required",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    503: "service-unavailable",
}
# The store's field names for a sample's parts, as members of a PointValue resource.
STORE_MEMBERS = {"value": ("value", "invalid-value"), "quality": ("qualityOfValue", "invalid-quality")}


class MemberInvalid(Invalid):
    """A 400 about one member of the request document (`pointer`, a JSON pointer) or one query
    parameter (`parameter`), with its JSON:API error code."""

    def __init__(self, code: str, message: str, *, pointer: str | None = None, parameter: str | None = None):
        super().__init__(message, field=parameter if pointer is None else pointer)
        self.code = code
        self.pointer = pointer
        self.parameter = parameter


class DocumentRejected(Exception):
    """Every problem found in one request document; answered as one 400 listing them all."""

    def __init__(self, errors: list[MemberInvalid]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def error_object(status: int, code: str, detail: str, source: dict | None = None) -> dict:
    error = {"status": str(status), "code": code, "title": TITLES[code], "detail": detail}
    if source:
        error["source"] = source
    return error


def _invalid(invalid: Invalid) -> dict:
    if isinstance(invalid, MemberInvalid):
        if invalid.pointer is not None:
            return error_object(400, invalid.code, invalid.message, {"pointer": invalid.pointer})
        return error_object(400, invalid.code, invalid.message, {"parameter": invalid.parameter})
    if invalid.field in STORE_MEMBERS and invalid.index is not None:
        member, code = STORE_MEMBERS[invalid.field]
        return error_object(
            400, code, invalid.message, {"pointer": f"/data/{invalid.index}/attributes/{member}"}
        )
    # Query parameters (apps.api.common.filters) are named in `field`.
    source = {"parameter": invalid.field} if invalid.field else None
    return error_object(
        400, "invalid-parameter" if invalid.field else "invalid-member", invalid.message, source
    )


def _document(errors: list[dict], status: int, headers: dict | None = None) -> Response:
    return Response({"errors": errors}, status=status, headers=headers)


def exception_handler(exc, context):
    """Every error of the values endpoints as a JSON:API error document."""
    if isinstance(exc, DocumentRejected):
        return _document([_invalid(error) for error in exc.errors], 400)
    if isinstance(exc, Invalid):
        return _document([_invalid(exc)], 400)
    if isinstance(exc, drf.ParseError):
        return _document([error_object(400, "malformed-json", str(exc.detail))], 400)
    problem = problem_for(exc)
    if problem is None:
        return None
    code = CODE_FOR_STATUS.get(problem.status)
    if code is None:  # a status nobody planned a code for: still a well-formed document
        error = {"status": str(problem.status), "title": problem.message, "detail": problem.message}
    else:
        error = error_object(problem.status, code, problem.message)
    return _document([error], problem.status, problem.headers)


ACCESS_DENIED = "Unauthorized"
# RFC 6749 §5.2: a client that authenticated by the Authorization header is challenged on a 401.
BASIC_CHALLENGE = {"WWW-Authenticate": "Basic"}
# Statuses the token endpoint answers without a code of their own in API.md §3: throttling and an
# unavailable database borrow Auth0's codes (the vendor's identity provider); 405, 413 and 415
# are malformed requests.
_TOKEN_CODE_FOR_STATUS = {429: "too_many_requests", 503: "temporarily_unavailable"}


def token_exception_handler(exc, context):
    """Every error of POST /oauth/token in the OAuth shape: 401 `access_denied` with the fixed
    description "Unauthorized" for wrong credentials, 400 `invalid_request` for a malformed
    request."""
    if isinstance(exc, OAuthError):
        return oauth_error_response(exc)
    problem = problem_for(exc)
    if problem is None:
        return None
    if problem.status == 401:
        body = {"error": "access_denied", "error_description": ACCESS_DENIED}
    else:
        code = _TOKEN_CODE_FOR_STATUS.get(problem.status, "invalid_request")
        body = {"error": code, "error_description": problem.message}
    return Response(body, status=problem.status, headers=problem.headers)
