"""A NUL character (U+0000) in what a person sends through the admin: a 400 or a form error on
both databases, never a 500 (PostgreSQL refuses any statement holding one; SQLite stores it)."""

import pytest

from apps.core.text import holds_nul
from apps.inventory.models import DataStream, Product
from tests.factories import DataStreamFactory, OrganizationFactory, ProductFactory


@pytest.mark.parametrize(
    ("value", "held"),
    [
        ("a\x00b", True),
        ("ab", False),
        ({"k": ["x", {"y": "\x00"}]}, True),
        ({"k\x00": 1}, True),
        (("a", "b\x00"), True),
        ([1, 2.5, None, True, {"k": "v"}], False),
        (None, False),
    ],
)
def test_holds_nul_looks_into_strings_keys_and_nested_json(value, held):
    assert holds_nul(value) is held


@pytest.mark.parametrize(
    "query",
    [
        "label__contains=%00",  # the issue's
        "label__contains=x%00y&e=1",
        "value_type=%00",  # a list filter's choice
        "q=%00",
        "o=%00",
        "%00=1",
    ],
)
def test_a_nul_in_a_changelist_query_is_a_400(admin_client, query):
    DataStreamFactory(label="Temperature")

    response = admin_client.get(f"/admin/inventory/datastream/?{query}")

    assert response.status_code == 400
    assert b"<h1>Bad Request (400)</h1>" in response.content


def test_a_nul_in_an_autocomplete_term_is_a_400(admin_client):
    DataStreamFactory(label="Temperature")

    response = admin_client.get(
        "/admin/autocomplete/?app_label=inventory&model_name=datastream&field_name=device&term=%00"
    )

    assert response.status_code == 400


def test_the_same_changelist_without_the_nul_still_answers(admin_client):
    DataStreamFactory(label="Temperature")

    response = admin_client.get("/admin/inventory/datastream/?label__contains=Temp")

    assert response.status_code == 200
    assert DataStream.objects.count() == 1


def test_the_api_dialects_keep_their_own_answer_to_a_nul_in_their_query(db, client):
    # Not the admin's bad-request page: the dialect's own shape (here: no credentials, 401).
    response = client.get("/api/v1/organization/device/datastream/history?pin=%00")

    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Authentication credentials were not provided."}}


@pytest.mark.parametrize(
    ("text", "errors", "stored"),
    [
        (
            '[{"label": "a\\u0000b"}]',
            {"datastream_template": ["This may not contain the NUL character (U+0000)."]},
            [],
        ),
        ('[{"label": "ab"}]', None, [{"label": "ab"}]),
    ],
)
def test_a_nul_in_a_json_field_of_an_admin_form_is_a_form_error_and_saves_nothing(
    admin_client, text, errors, stored
):
    product = ProductFactory(organization=OrganizationFactory(), name="Sensors", datastream_template=[])

    response = admin_client.post(
        f"/admin/inventory/product/{product.pk}/change/",
        {"name": "Sensors", "parent": "", "datastream_template": text},
    )

    assert response.status_code == (200 if errors else 302)
    if errors:
        assert response.context["adminform"].form.errors == errors
    assert Product.objects.get(pk=product.pk).datastream_template == stored
