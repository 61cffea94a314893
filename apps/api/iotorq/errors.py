"""The ioTORQ dialect's one exception handler.

Every invalid import is `400 {"detail": "Invalid import.", "errors": [{"index", "field",
"message"}]}` (`index` and `field` null when the error concerns the whole body); every other
error is DRF's `{"detail": "..."}`, which is what ioTORQ answers.
"""

from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from apps.api.common.errors import problem_for
from apps.core.exceptions import Invalid
from apps.imports.services import ImportRejected

from .parsing import MAX_ERRORS

INVALID = "Invalid import."
# Names the services use for what the wire calls otherwise.
WIRE_FIELDS = {"variable": "id_value"}


def _error(invalid: Invalid) -> dict:
    return {
        "index": invalid.index,
        "field": WIRE_FIELDS.get(invalid.field, invalid.field),
        "message": invalid.message,
    }


def exception_handler(exc, context):
    if isinstance(exc, ImportRejected):
        # At most MAX_ERRORS here too: resolving variables reports every unknown one, and a 2 MB
        # body names 22,000 (a 2 MB answer that took a second to build).
        return Response(
            {"detail": INVALID, "errors": [_error(e) for e in exc.errors[:MAX_ERRORS]]}, status=400
        )
    if isinstance(exc, Invalid):
        return Response({"detail": INVALID, "errors": [_error(exc)]}, status=400)
    if isinstance(exc, ParseError):
        return Response({"detail": INVALID, "errors": [_error(Invalid(str(exc.detail)))]}, status=400)
    problem = problem_for(exc)
    if problem is None:
        return None
    return Response({"detail": problem.message}, status=problem.status, headers=problem.headers)
