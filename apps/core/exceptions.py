"""The project's own errors. Services raise these; each API dialect maps them to its wire shape
in one place (its `errors.py`), so no service knows what a dialect's error body looks like."""


class EmsError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str = "", *, field: str | None = None, index: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.index = index


class NotFound(EmsError):
    """The object does not exist in the caller's organization (or at all: no difference is made)."""


class Invalid(EmsError):
    """The input breaks a rule; `field` and `index` say where."""


class PermissionDenied(EmsError):
    """The caller is known but lacks a permission."""


class QuotaExceeded(EmsError):
    """A rate limit or quota is used up; `retry_after` says when to come back, in seconds."""

    def __init__(self, message: str = "", *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
