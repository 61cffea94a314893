from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .health import DOWN, broker_state, cache_state, database_state


@require_GET
def healthz(request):
    """Health for load balancers and monitoring: each dependency's state, and the whole service's.

    503 only when the database is down (nothing can be answered); a cache or broker that is down
    degrades the service (the request limit goes unchecked, imports wait for the sweeper) and is
    reported in the body with a 200, so a load balancer keeps sending traffic.
    """
    states = {"database": database_state(), "cache": cache_state(), "broker": broker_state()}
    if states["database"] == DOWN:
        return JsonResponse({"status": "unavailable", **states}, status=503, headers={"Retry-After": "5"})
    status = "degraded" if DOWN in states.values() else "ok"
    return JsonResponse({"status": status, **states})
