"""The analysis page of the console, `GET /admin/analytics/` (docs/energy.md, "The analysis
page"), and the series search it picks series with, `GET /admin/analytics/series.json?q=...`.

The page is a shell: static/ems/analysis.js reads its state from the query string (series ids,
range, bucket, compare, heat-map series), draws from `statistics.json` (analytics.py) and keeps
the query string in step with history.pushState, so a link, a reload and the back button show
the same view. The server only resolves the series named in the URL to their names and units
(those the series admin shows the user: another organization's id is left out, as an unknown
one is) and says which local day "today" is, in the zone of the first series shown, else of the
user's first organization, so the range buttons mean the site's days rather than the browser's.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import JsonResponse
from django.template.response import TemplateResponse

from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.selectors import series_zone

MAX_SERIES = 10
SEARCH_RESULTS = 20
_SEARCH_MAX_LENGTH = 100


def _series_admin():
    return admin.site.get_model_admin(Series)


def _scoped(request, queryset):
    return _series_admin().scope_queryset(request, queryset.select_related("organization", "site"))


def series_summary(series: Series) -> dict:
    """What the page and the search show of a series: enough to label it and choose its axis."""
    return {
        "id": series.pk,
        "name": series.name,
        "meter_code": series.meter_code,
        "kind": series.kind,
        "unit": series.unit,
        "site": series.site.name if series.site_id else None,
        "organization": series.organization.name,
        "zone": series_zone(series),
    }


def _requested_series(request) -> list[Series]:
    ids = list(
        dict.fromkeys(int(raw) for raw in request.GET.getlist("series") if raw.isdigit() and len(raw) < 19)
    )
    found = {one.pk: one for one in _scoped(request, Series.objects.filter(pk__in=ids[:MAX_SERIES]))}
    return [found[pk] for pk in ids[:MAX_SERIES] if pk in found]


def _zone(request, series: list[Series]) -> str:
    if series:
        return series_zone(series[0])
    organization_ids = _series_admin().scope_organization_ids(request, "view", "change")
    organizations = Organization.objects.order_by("pk")
    if organization_ids is not None:
        organizations = organizations.filter(pk__in=organization_ids)
    first = organizations.only("time_zone").first()
    return first.time_zone if first else "UTC"


def analysis_view(request):
    """The analysis page, for users who may view series (else the admin's 403)."""
    if not _series_admin().has_view_permission(request):
        raise PermissionDenied
    series = _requested_series(request)
    zone = _zone(request, series)
    context = {
        **admin.site.each_context(request),
        "title": "Analysis",
        "analysis": {
            "series": [series_summary(one) for one in series],
            "zone": zone,
            "today": datetime.now(ZoneInfo(zone)).date().isoformat(),
            "max_series": MAX_SERIES,
        },
    }
    return TemplateResponse(request, "admin/ems/analysis.html", context)


def series_search_view(request):
    """GET ?q=<words> -> {"series": [summary, ...]}: up to SEARCH_RESULTS series the user may view
    whose name, meter code, site or device (through its signals or datastreams) holds every word,
    by name. 405 for another method, 403 for a user who may view no series."""
    if request.method != "GET":
        return JsonResponse({"error": "use GET"}, status=405)
    if not _series_admin().has_view_permission(request):
        return JsonResponse({"error": "you may not view series"}, status=403)
    words = request.GET.get("q", "")[:_SEARCH_MAX_LENGTH].split()
    queryset = Series.objects.all()
    for word in words:
        queryset = queryset.filter(
            Q(name__icontains=word)
            | Q(meter_code__icontains=word)
            | Q(site__name__icontains=word)
            | Q(signals__load__device__label__icontains=word)
            | Q(datastreams__device__label__icontains=word)
        )
    ids = queryset.values("pk").distinct()
    found = _scoped(request, Series.objects.filter(pk__in=ids)).order_by("name", "pk")[:SEARCH_RESULTS]
    return JsonResponse({"series": [series_summary(one) for one in found]})
