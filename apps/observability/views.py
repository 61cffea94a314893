import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import render


def _allowed(request) -> bool:
    """Superusers, or `Authorization: Bearer <METRICS_TOKEN>` when one is set. The figures are
    installation-wide (every organization's requests and import jobs), which a staff user who
    manages one organization has no business reading."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_superuser:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token)


@require_GET
def metrics(request):
    """Prometheus exposition of the process's (or all workers') metrics."""
    if not _allowed(request):
        return HttpResponse("Forbidden: a superuser login or the metrics token is required.\n", status=403)
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
