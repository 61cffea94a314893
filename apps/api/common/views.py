"""The bases of every dialect endpoint: DRF viewsets. `DialectViewSet` owns what no endpoint may
forget: the body limit checked before anything parses the body, the statement timeout its queries
run under, the per-organization request limit, the dialect's error shape and its query
parameters (FilterSets, apps/api/common/filters.py). `TenantViewSet` adds the tenant: every
request needs a Principal (authentication to it is the dialect's), and `self.organization` is the
only organization an action may read or change. Its permission check is not a class attribute a
subclass could replace: an endpoint that answers without a principal (token endpoints, login,
version, the catch-alls) derives from `PublicViewSet` instead, and there is no `organization`."""

import io
from typing import ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.viewsets import ViewSet

from apps.access.principal import Principal
from apps.core.exceptions import NotFound

from .errors import LengthRequired, PayloadTooLarge
from .filters import ParameterBackend, QueryParameters
from .request_limit import OrganizationRateThrottle
from .timeout import statement_timeout_end, statement_timeout_start

DEFAULT_BODY_LIMIT = 16 * 1024
# No OPTIONS: it is not in any vendor's API, and DRF's metadata would show internal docstrings
# without credentials. Left out of the methods a view has, OPTIONS is answered 405 in the
# dialect's shape and no `Allow` header lists it (DRF lists every method of `http_method_names`
# that the view has, and every DRF view has `options`).
HTTP_METHOD_NAMES = [name for name in ViewSet.http_method_names if name != "options"]
# The methods an UnknownPathViewSet answers 404 to (urls.py: `.as_view(EVERY_METHOD)`).
EVERY_METHOD = {method: "unknown" for method in ("get", "post", "put", "patch", "delete")}


class HasPrincipal(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Principal)


class DialectViewSet(ViewSet):
    """Subclasses set `authentication_classes` and `exception_handler` (the dialect's),
    `body_limit` for write endpoints and `filtersets` (action name to FilterSet) for the actions
    that read query parameters."""

    authentication_classes: ClassVar = []
    permission_classes: ClassVar = []
    throttle_classes: ClassVar = [OrganizationRateThrottle]
    http_method_names: ClassVar = HTTP_METHOD_NAMES
    metadata_class = None
    body_limit: ClassVar[int] = DEFAULT_BODY_LIMIT
    exception_handler: ClassVar = None
    statement_timeout: ClassVar[bool] = True  # False only for an endpoint that runs no query
    # For the schema: drf-spectacular documents an action's FilterSet through this backend.
    filter_backends: ClassVar = [ParameterBackend]
    filtersets: ClassVar[dict[str, type[QueryParameters]]] = {}

    @property
    def filterset_class(self) -> type[QueryParameters] | None:
        return self.filtersets.get(self.action)

    @property
    def queryset(self):
        """The (never evaluated) queryset of the action's FilterSet model, which django-filter's
        schema extension asks the view for."""
        filterset = self.filterset_class
        return None if filterset is None else filterset._meta.model._default_manager.none()

    def query(self) -> dict:
        """The action's query parameters, cleaned by its FilterSet (400 for the first bad one)."""
        return self.filterset_class.parse(self.request.query_params)

    def get_exception_handler(self):
        return type(self).exception_handler

    def initial(self, request, *args, **kwargs):
        self._enforce_body_limit(request)
        self._statement_timeout = self.statement_timeout and statement_timeout_start()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "_statement_timeout", False):
            statement_timeout_end()
        return super().finalize_response(request, response, *args, **kwargs)

    def _enforce_body_limit(self, request) -> None:
        """Refuse by the announced length, before any parser reads the body. A chunked body has
        no length: Django bounds the body by Content-Length (none: it reads as empty), so it is
        read here, to at most one byte past the limit, and handed on as a body of known length."""
        meta = request._request.META
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
            self._read_chunked_body(request._request)
            return
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.body_limit:
            raise PayloadTooLarge(f"Request body is larger than {self.body_limit} bytes.")

    def _read_chunked_body(self, django_request) -> None:
        """Only a server that says its input ends with the body (`wsgi.input_terminated`, PEP 3333
        extension; gunicorn does) may be read to EOF; elsewhere (runserver) the read would hang or
        read nothing, so the client is told to send Content-Length. Django 5.2 ignores the flag."""
        meta = django_request.META
        if not meta.get("wsgi.input_terminated"):
            raise LengthRequired("A chunked request body needs a server that reads it; send Content-Length.")
        # A bytearray grows in place: `bytes +=` would copy the body so far at every read.
        stream, limit, body = meta["wsgi.input"], self.body_limit, bytearray()
        while len(body) <= limit:
            chunk = stream.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        meta["CONTENT_LENGTH"] = str(len(body))
        django_request._stream = io.BytesIO(body)


class PublicViewSet(DialectViewSet):
    """Answers without a principal: token endpoints, login, version and the catch-alls."""

    permission_classes: ClassVar = [AllowAny]


class UnknownPathViewSet(PublicViewSet):
    """Any other path under a dialect's prefix: 404 "No such endpoint." in the dialect's error
    shape. Subclasses set `exception_handler` (and, where the dialect needs them, its renderers
    and body limit); the dialect's urls.py chooses the methods (EVERY_METHOD or fewer)."""

    # No principal, so the per-organization request limit has nothing to count.
    throttle_classes: ClassVar = []

    @extend_schema(exclude=True)
    def unknown(self, request, **kwargs):
        raise NotFound("No such endpoint.")


class TenantViewSet(DialectViewSet):
    """Every action needs a Principal; selectors and services receive `self.organization`."""

    def get_permissions(self):
        # Not from `permission_classes`: a subclass setting them adds checks, it cannot drop this.
        return [HasPrincipal(), *super().get_permissions()]

    @property
    def principal(self) -> Principal:
        return self.request.auth

    @property
    def organization(self):
        return self.request.auth.organization
