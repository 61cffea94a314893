"""Every operation of /api/schema/ is described for API users (issue #17): its own summary and
description, never a base view's docstring (developer notes that drf-spectacular would otherwise
inherit along the MRO)."""

import inspect

import pytest
import yaml
from django.urls import path
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

from apps.api.common.views import TenantViewSet

INTERNAL_WORDS = ("Subclasses", "subclass", "self.", "ClassVar", "selector", "exception_handler")


def base_docstrings() -> set[str]:
    """The docstrings of every base class (in apps.api) of every view the URLs route to."""
    docs = set()
    for _path, _regex, _method, callback in EndpointEnumerator().get_api_endpoints():
        for base in callback.cls.__mro__[1:]:
            if base.__module__.startswith("apps.api.") and base.__dict__.get("__doc__"):
                docs.add(inspect.cleandoc(base.__doc__))
    return docs


@pytest.fixture
def operations(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    return {(method.upper(), path): op for path, ops in paths.items() for method, op in ops.items()}


@pytest.mark.django_db
def test_every_operation_has_a_summary_and_a_description(operations):
    assert len(operations) == 37
    missing = [key for key, op in operations.items() if not op.get("summary") or not op.get("description")]
    assert missing == []


@pytest.mark.django_db
def test_summaries_are_unique_per_path_and_method(operations):
    summaries = [op["summary"] for op in operations.values()]
    assert sorted(s for s in summaries if summaries.count(s) > 1) == []


@pytest.mark.django_db
def test_no_description_carries_a_base_view_docstring_or_internal_notes(operations):
    docs = base_docstrings()
    # The collection finds the base views (DialectViewSet's docstring among them), so the test can fail.
    assert any(doc.startswith("Subclasses set `authentication_classes`") for doc in docs)
    leaks = [
        (key, doc[:40])
        for key, op in operations.items()
        for doc in docs
        if doc in op.get("description", "") or doc.split("\n", 1)[0] in op.get("description", "")
    ]
    assert leaks == []
    internal = [
        (key, word)
        for key, op in operations.items()
        for word in INTERNAL_WORDS
        if word in op.get("description", "")
    ]
    assert internal == []


def test_an_undescribed_view_inherits_no_description_from_its_base_views():
    class Undescribed(TenantViewSet):
        def retrieve(self, request):
            return None

    class Described(TenantViewSet):
        """What this endpoint does."""

        def retrieve(self, request):
            return None

    schema = SchemaGenerator(
        patterns=[
            path("undescribed/", Undescribed.as_view({"get": "retrieve"})),
            path("described/", Described.as_view({"get": "retrieve"})),
        ]
    ).get_schema(request=None, public=True)

    assert "description" not in schema["paths"]["/undescribed/"]["get"]
    assert schema["paths"]["/described/"]["get"]["description"] == "What this endpoint does."
