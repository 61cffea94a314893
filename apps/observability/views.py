import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import render


def _allowed(request) -> bool:
    """Staff users of the admin, or `Authorization: Bearer <METRICS_TOKEN>` when one is set."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token)


@require_GET
def metrics(request):
    """Prometheus exposition of the process's (or all workers') metrics."""
    if not _allowed(request):
        return HttpResponse("Forbidden: staff login or the metrics token required.\n", status=403)
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
