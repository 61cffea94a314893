"""A series' samples export and range deletion as pages of the series' admin: found through the
admin (its organization scoping, the console's registered subclass included), its permissions,
the links on the series' page, and the old addresses redirecting."""

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.console.admin import ConsoleSeriesAdmin
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from tests.factories import SeriesFactory, staff_user
from tests.timeseries.helpers import stored

ROWS = [(1000, 1.0), (2000, 2.0, 7), (3000, 3.0)]


@pytest.fixture
def filled(series, add_samples):
    add_samples(series, ROWS)
    return series


@pytest.fixture
def foreign(other_org, add_samples):
    theirs = SeriesFactory(organization=other_org, meter_code="theirs")
    add_samples(theirs, [(1000, 5.0)])
    return theirs


def export_url(series) -> str:
    return f"/admin/timeseries/series/{series.pk}/export/"


def delete_url(series) -> str:
    return f"/admin/timeseries/series/{series.pk}/delete-samples/"


def test_the_pages_are_urls_of_the_registered_series_admin(filled):
    assert isinstance(admin.site._registry[Series], ConsoleSeriesAdmin)
    assert reverse("admin:timeseries_series_export", args=[filled.pk]) == export_url(filled)
    assert reverse("admin:timeseries_series_delete_samples", args=[filled.pk]) == delete_url(filled)


def test_a_viewer_exports_the_range_as_csv(client, org, filled):
    client.force_login(staff_user(org, "view_series"))

    response = client.get(export_url(filled), {"start": "1970-01-01T00:00:02Z", "download": "1"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="main_19700101T000002Z_all.csv"'
    assert b"".join(response.streaming_content).decode() == (
        "timestamp,value,quality\r\n1970-01-01T00:00:02.000Z,2.0,7\r\n1970-01-01T00:00:03.000Z,3.0,\r\n"
    )


def test_the_export_page_shows_breadcrumbs_through_the_series(manager_client, filled):
    response = manager_client.get(export_url(filled))

    text = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/admin/timeseries/series/">Series</a>' in text
    assert f'<a href="/admin/timeseries/series/{filled.pk}/change/">main</a>' in text


def test_exporting_needs_the_view_permission(client, org, filled):
    client.force_login(staff_user(org, "view_device"))

    assert client.get(export_url(filled)).status_code == 403
    assert client.get(export_url(filled), {"download": "1"}).status_code == 403


def test_another_organizations_series_is_not_found(client, org, other_org, filled, foreign):
    # A member of the other organization too, with a role that grants nothing about series there.
    user = staff_user(org, roles=["facility-manager"])
    membership_grant(user=user, organization=other_org, role_slugs=["api"])
    client.force_login(user)

    assert client.get(export_url(foreign), {"download": "1"}).status_code == 404
    assert client.get(delete_url(foreign)).status_code == 404
    response = client.post(delete_url(foreign), {"start_ms": "0", "end_ms": "10000", "confirm": "yes"})
    assert response.status_code == 404
    assert stored(foreign) == [(1000, 5.0, None)]
    assert client.get("/admin/timeseries/series/999999/export/").status_code == 404
    assert client.get("/admin/timeseries/series/abc/delete-samples/").status_code == 404


def test_deleting_samples_needs_the_change_permission(client, org, filled):
    client.force_login(staff_user(org, "view_series"))

    assert client.get(delete_url(filled)).status_code == 403
    response = client.post(delete_url(filled), {"start_ms": "0", "end_ms": "10000", "confirm": "yes"})

    assert response.status_code == 403
    assert len(stored(filled)) == 3


def test_a_bad_range_is_a_form_error_and_deletes_nothing(manager_client, filled):
    bad = manager_client.post(delete_url(filled), {"start": "soon", "end": ""})
    backwards = manager_client.post(
        delete_url(filled), {"start": "1970-01-01T00:00:03Z", "end": "1970-01-01"}
    )
    forged = manager_client.post(delete_url(filled), {"start_ms": "x", "end_ms": "10", "confirm": "yes"})

    assert bad.status_code == 200
    assert bad.context["form"].errors["start"] == [
        "'soon' is not a timestamp (ISO 8601 like 2024-03-01T12:00:00Z, or epoch seconds or milliseconds)."
    ]
    assert "confirm" not in bad.context
    assert backwards.context["form"].errors["end"] == ["The end must come after the start."]
    assert (forged.status_code, forged["Location"]) == (302, delete_url(filled))
    assert len(stored(filled)) == 3


def test_the_confirmation_links_the_export_of_what_it_deletes(manager_client, filled):
    response = manager_client.post(delete_url(filled), {"start": "1970-01-01T00:00:02Z", "end": ""})

    text = response.content.decode()
    assert 'data-count="2"' in text
    assert (
        f'href="{export_url(filled)}?start=1970-01-01T00%3A00%3A02Z&amp;end=&amp;time_zone=&amp;download=1"'
        in text
    )
    assert f'href="{delete_url(filled)}" class="button cancel-link"' in text


def test_the_series_page_links_what_the_user_may_do(client, manager_client, org, filled):
    managed = manager_client.get(f"/admin/timeseries/series/{filled.pk}/change/").content.decode()
    client.force_login(staff_user(org, "view_series"))
    viewed = client.get(f"/admin/timeseries/series/{filled.pk}/change/").content.decode()

    assert f'<a href="{export_url(filled)}" id="series-export-link">' in managed
    assert f'<a href="{delete_url(filled)}" id="series-delete-link">' in managed
    assert '<a href="/admin/imports/importjob/import-csv/" id="series-import-link">' in managed
    assert f'<a href="{export_url(filled)}" id="series-export-link">' in viewed
    assert 'id="series-delete-link"' not in viewed
    assert 'id="series-import-link"' not in viewed


def test_the_old_addresses_redirect_permanently_with_their_query(manager_client, filled):
    export = manager_client.get(f"/admin/tools/series/{filled.pk}/export/?start=2024-03-01&download=1")
    delete = manager_client.get(f"/admin/tools/series/{filled.pk}/delete-samples/")

    assert (export.status_code, export["Location"]) == (
        301,
        f"{export_url(filled)}?start=2024-03-01&download=1",
    )
    assert (delete.status_code, delete["Location"]) == (301, delete_url(filled))


def test_the_series_list_offers_the_csv_import_to_whoever_may_import(client, manager_client, org):
    managed = manager_client.get("/admin/timeseries/series/").content.decode()
    client.force_login(staff_user(org, "view_series", "change_series"))
    changer = client.get("/admin/timeseries/series/").content.decode()

    assert '<a href="/admin/imports/importjob/import-csv/" id="import-csv-link">Import CSV</a>' in managed
    assert 'id="import-csv-link"' not in changer
