"""Every endpoint of the four dialects is an action of a viewset on one of the two bases
(apps/api/common/views.py), the tenant-scoped one unless it answers without credentials; a
tenant viewset cannot drop its principal check; the query parameters are read through FilterSets
whose multi-value integers follow the contract's rule (`?uids=1,2&uids=3`), and the schema
documents them from those FilterSets."""

import pytest
import yaml
from django.http import QueryDict
from django.urls import resolve
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.api.common.views import PublicViewSet, TenantViewSet
from apps.api.gavazzi.errors import exception_handler
from apps.api.gavazzi.filters import DeviceFilter
from apps.core.exceptions import Invalid

from .endpoints import endpoints
from .test_allow import concrete

# The endpoints that answer without a principal; every other one is tenant-scoped.
PUBLIC = {
    "oauth/token",  # Building X: the client authenticates in the body or by Basic
    "ver",
    "v1/auth/login",
    "^api/v[12]/organization/",
    "^ingest/",
    "^v1/.*$",
}


@pytest.mark.parametrize("endpoint", endpoints(), ids=lambda e: f"{e.method} {e.route}")
def test_every_dialect_url_resolves_to_an_action_of_a_viewset_on_a_dialect_base(endpoint):
    match = resolve(concrete(endpoint.route))

    assert match.func.cls is endpoint.viewset
    assert match.func.actions[endpoint.method.lower()] == endpoint.action
    assert callable(getattr(endpoint.viewset, endpoint.action))
    base = PublicViewSet if endpoint.route in PUBLIC else TenantViewSet
    assert issubclass(endpoint.viewset, base)


def test_every_filterset_belongs_to_an_action_its_viewset_has():
    viewsets = {endpoint.viewset for endpoint in endpoints()}

    stray = [
        (viewset.__name__, action)
        for viewset in viewsets
        for action in viewset.filtersets
        if not callable(getattr(viewset, action, None))
    ]

    assert stray == []


@pytest.mark.django_db
def test_a_tenant_viewset_that_allows_anyone_still_needs_a_principal():
    ran = []

    class Careless(TenantViewSet):
        permission_classes = [AllowAny]
        exception_handler = staticmethod(exception_handler)

        def retrieve(self, request):
            ran.append(True)
            return Response({})

    response = Careless.as_view({"get": "retrieve"})(APIRequestFactory().get("/careless"))

    assert response.status_code == 403
    assert ran == []


@pytest.mark.parametrize(
    ("query", "uids"),
    [
        ("uids=1,2&uids=3", [1, 2, 3]),
        ("uids=7", [7]),
        ("uids= 4 , 5", [4, 5]),
        ("protocol=rtu", None),
    ],
)
def test_multi_value_integers_read_commas_and_repetitions(query, uids):
    assert DeviceFilter.parse(QueryDict(query))["uids"] == uids


@pytest.mark.parametrize(
    ("query", "message", "field"),
    [
        ("uids=1,x", "'uids' must be a comma-separated list of integers.", "uids"),
        ("uids=", "'uids' must be a comma-separated list of integers.", "uids"),
        ("uids=1&uids=2,", "'uids' must be a comma-separated list of integers.", "uids"),
        ("protocol=ftp", "'protocol' must be one of rtu, tcp, meterBus, virtual, P1.", "protocol"),
        # The first bad parameter in declaration order is the one answered.
        ("protocol=ftp&uids=x", "'uids' must be a comma-separated list of integers.", "uids"),
    ],
)
def test_a_bad_parameter_is_an_invalid_naming_it(query, message, field):
    with pytest.raises(Invalid) as raised:
        DeviceFilter.parse(QueryDict(query))

    assert (raised.value.message, raised.value.field) == (message, field)


@pytest.mark.django_db
def test_the_schema_documents_exactly_the_parameters_each_filterset_declares(client):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    documented, declared = {}, {}
    for endpoint in endpoints():
        filterset = endpoint.viewset.filtersets.get(endpoint.action)
        if filterset is None:
            continue
        key = (endpoint.method, endpoint.route)
        operation = paths["/" + endpoint.route][endpoint.method.lower()]
        documented[key] = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        declared[key] = set(filterset.base_filters)

    assert len(declared) == 23  # the list endpoints of test_query_counts.py
    assert documented == declared
