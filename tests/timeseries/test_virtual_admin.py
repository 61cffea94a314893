"""Defining a virtual series on its admin page: its sources (an inline), and what is refused."""

import pytest
from django.db.models import RestrictedError

from apps.timeseries.models import Series, VirtualSource
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory

pytestmark = pytest.mark.django_db


def change_url(series) -> str:
    return f"/admin/timeseries/series/{series.pk}/change/"


def post(client, series, *, kind="virtual", unit="kWh", sources=()):
    """Save `series`' page with `sources` ((series, coefficient), ...) as its inline rows."""
    data = {
        "name": series.name,
        "meter_code": series.meter_code or "",
        "kind": kind,
        "unit": unit,
        "site": "",
        "virtual_sources-TOTAL_FORMS": str(len(sources)),
        "virtual_sources-INITIAL_FORMS": "0",
        "virtual_sources-MIN_NUM_FORMS": "0",
        "virtual_sources-MAX_NUM_FORMS": "1000",
    }
    for i, (source, coefficient) in enumerate(sources):
        data[f"virtual_sources-{i}-source"] = str(source.pk)
        data[f"virtual_sources-{i}-coefficient"] = str(coefficient)
    return client.post(change_url(series), data)


def errors(response) -> str:
    assert response.status_code == 200, "the page is shown again with its errors"
    formset_errors = [
        str(e)
        for formset in response.context["inline_admin_formsets"]
        for e in [formset.formset.non_form_errors()]
    ]
    return " ".join([*formset_errors, str(response.context["adminform"].form.errors)])


@pytest.fixture
def meters(org):
    return [SeriesFactory(organization=org, kind="counter", unit="kWh", name=name) for name in "ABC"]


def test_a_facility_manager_defines_main_minus_sub_meters(manager_client, org, meters):
    unmetered = SeriesFactory(organization=org, name="Unmetered")
    a, b, c = meters
    assert "Sources of a virtual series" not in manager_client.get(change_url(unmetered)).content.decode()
    assert post(manager_client, unmetered, sources=[]).status_code == 302  # made virtual first

    response = post(manager_client, unmetered, sources=[(a, 1), (b, -1), (c, -1)])

    assert response.status_code == 302
    assert Series.objects.get(pk=unmetered.pk).kind == "virtual"
    assert sorted(
        VirtualSource.objects.filter(virtual=unmetered).values_list("source__name", "coefficient")
    ) == [
        ("A", 1.0),
        ("B", -1.0),
        ("C", -1.0),
    ]
    page = manager_client.get(change_url(unmetered))
    assert page.status_code == 200
    assert "Sources of a virtual series" in page.content.decode()


def test_a_cycle_is_refused(manager_client, org, meters):
    first = SeriesFactory(organization=org, kind="virtual", unit="kWh")
    second = SeriesFactory(organization=org, kind="virtual", unit="kWh")
    VirtualSource.objects.create(virtual=second, source=first)

    response = post(manager_client, first, sources=[(meters[0], 1), (second, 1)])

    assert "in terms of itself" in errors(response)
    assert not VirtualSource.objects.filter(virtual=first).exists()


def test_a_series_is_not_its_own_source(manager_client, org):
    meter = SeriesFactory(organization=org, kind="virtual", unit="kWh")

    assert "its own source" in errors(post(manager_client, meter, sources=[(meter, 1)]))


def test_sources_of_different_units_are_refused(manager_client, org, meters):
    meter = SeriesFactory(organization=org, kind="virtual")
    gas = SeriesFactory(organization=org, kind="counter", unit="m³")

    response = post(manager_client, meter, unit="", sources=[(meters[0], 1), (gas, 1)])

    assert "one unit" in errors(response)
    assert not VirtualSource.objects.exists()


def test_another_organizations_series_is_refused(manager_client, org, other_org):
    meter = SeriesFactory(organization=org, kind="virtual")
    theirs = SeriesFactory(organization=other_org, kind="counter", unit="kWh")

    response = post(manager_client, meter, sources=[(theirs, 1)])

    assert response.status_code == 200
    assert not VirtualSource.objects.exists()


def test_only_a_virtual_series_has_sources(manager_client, org, meters):
    meter = SeriesFactory(organization=org, kind="virtual")  # its page shows the sources

    response = post(manager_client, meter, kind="counter", sources=[(meters[0], 1)])

    assert "Only a virtual series has sources" in errors(response)


def test_a_series_with_samples_cannot_become_virtual(manager_client, org):
    meter = SeriesFactory(organization=org)
    write(SampleBatch([meter.pk], [0], [1.0]), Policy.OVERWRITE)

    response = post(manager_client, meter)

    assert "cannot become virtual" in errors(response)
    assert Series.objects.get(pk=meter.pk).kind == "measurement"


def test_a_source_in_use_cannot_be_deleted_alone(org, meters):
    meter = SeriesFactory(organization=org, kind="virtual")
    VirtualSource.objects.create(virtual=meter, source=meters[0])

    with pytest.raises(RestrictedError):
        meters[0].delete()
    org.delete()  # the organization's deletion takes both

    assert not Series.objects.exists()


def test_the_admin_will_not_delete_a_source_in_use(manager_client, org, meters):
    meter = SeriesFactory(organization=org, kind="virtual", name="Unmetered")
    VirtualSource.objects.create(virtual=meter, source=meters[0])

    page = manager_client.get(f"/admin/timeseries/series/{meters[0].pk}/delete/")
    response = manager_client.post(f"/admin/timeseries/series/{meters[0].pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert "would require deleting the following protected related objects" in page.content.decode()
    assert response.status_code == 200
    assert Series.objects.filter(pk=meters[0].pk).exists()


def test_deleting_samples_of_a_virtual_series_says_it_has_none(manager_client, org):
    meter = SeriesFactory(organization=org, kind="virtual")
    page = manager_client.get(change_url(meter))
    assert 'id="series-delete-link"' not in page.content.decode()

    response = manager_client.post(
        f"/admin/timeseries/series/{meter.pk}/delete-samples/",
        {"confirm": "1", "start_ms": "0", "end_ms": "10"},
        follow=True,
    )

    assert response.redirect_chain == [(change_url(meter), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"series {meter.pk} is virtual: it has no samples of its own"
    ]
