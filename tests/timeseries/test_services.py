"""Deleting a range of a series' samples, the latest sample it leaves behind, and the admin's
confirmation page in front of it."""

import pytest
from django.contrib.auth.models import Permission

from apps.core.exceptions import NotFound
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from apps.timeseries.services import samples_delete
from tests.factories import SeriesFactory, UserFactory
from tests.timeseries.helpers import stored


@pytest.fixture
def filled(series, other_series, add_samples):
    add_samples(series, [(1000, 1.0), (2000, 2.0, 7), (3000, 3.0), (4000, 4.0)])
    add_samples(other_series, [(1000, 10.0), (2000, 20.0)])
    Series.objects.filter(pk=series.pk).update(last_ts=4000, last_value=4.0)
    Series.objects.filter(pk=other_series.pk).update(last_ts=2000, last_value=20.0)
    return series


def latest(series) -> tuple:
    series.refresh_from_db()
    return series.last_ts, series.last_value


def test_deleting_a_range_deletes_start_inclusive_end_exclusive(filled, other_series):
    deleted = samples_delete(series_id=filled.pk, start_ms=2000, end_ms=4000)

    assert deleted == 2
    assert stored(filled) == [(1000, 1.0, None), (4000, 4.0, None)]
    assert latest(filled) == (4000, 4.0)
    assert stored(other_series) == [(1000, 10.0, None), (2000, 20.0, None)]


def test_deleting_the_newest_samples_moves_the_latest_sample_back(filled, other_series):
    deleted = samples_delete(series_id=filled.pk, start_ms=2500, end_ms=10_000)

    assert deleted == 2
    assert latest(filled) == (2000, 2.0)
    assert latest(other_series) == (2000, 20.0)


def test_deleting_every_sample_clears_the_latest_sample(filled):
    deleted = samples_delete(series_id=filled.pk, start_ms=-(2**63), end_ms=2**63 - 1)

    assert deleted == 4
    assert stored(filled) == []
    assert latest(filled) == (None, None)


@pytest.mark.parametrize(("start_ms", "end_ms"), [(5000, 6000), (3000, 3000), (4000, 1000)])
def test_an_empty_range_deletes_nothing(filled, start_ms, end_ms):
    assert samples_delete(series_id=filled.pk, start_ms=start_ms, end_ms=end_ms) == 0
    assert len(stored(filled)) == 4
    assert latest(filled) == (4000, 4.0)


def test_deleting_from_a_missing_series_is_not_found(db):
    with pytest.raises(NotFound):
        samples_delete(series_id=999_999, start_ms=0, end_ms=1000)


# --- the admin page that calls it ----------------------------------------------------------------


def delete_url(series) -> str:
    return f"/admin/timeseries/series/{series.pk}/delete-samples/"


def test_the_confirmation_page_says_how_many_samples_will_go_and_deletes_nothing(manager_client, filled):
    form = manager_client.get(delete_url(filled))
    response = manager_client.post(
        delete_url(filled), {"start": "1970-01-01T00:00:02Z", "end": "", "time_zone": ""}
    )

    assert form.status_code == 200
    assert b'id="series-delete-form"' in form.content
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-count="3"' in text
    assert "<strong>3 samples</strong>" in text
    assert "from 1970-01-01T00:00:02.000Z on" in text
    assert 'value="Yes, delete 3 samples"' in text
    assert len(stored(filled)) == 4


def test_confirming_deletes_the_range_and_returns_to_the_series(manager_client, filled):
    confirm = manager_client.post(
        delete_url(filled), {"start": "1970-01-01T00:00:02Z", "end": "1970-01-01T00:00:04Z"}
    )
    context = confirm.context

    response = manager_client.post(
        delete_url(filled), {"start_ms": context["start_ms"], "end_ms": context["end_ms"], "confirm": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/admin/timeseries/series/{filled.pk}/change/"
    assert stored(filled) == [(1000, 1.0, None), (4000, 4.0, None)]
    assert latest(filled) == (4000, 4.0)
    page = manager_client.get(response["Location"])
    assert "Deleted 2 samples of main." in page.content.decode()


def test_deleting_needs_the_change_permission_and_the_organization(client, filled, other_org):
    viewer = UserFactory(is_staff=True)
    membership_grant(user=viewer, organization=filled.organization, role_slugs=[])
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_series"]))
    client.force_login(viewer)
    assert (
        client.post(delete_url(filled), {"start_ms": 0, "end_ms": 10_000, "confirm": "yes"}).status_code
        == 403
    )

    outsider = UserFactory(is_staff=True)
    membership_grant(user=outsider, organization=other_org, role_slugs=["facility-manager"])
    client.force_login(outsider)
    assert (
        client.post(delete_url(filled), {"start_ms": 0, "end_ms": 10_000, "confirm": "yes"}).status_code
        == 404
    )
    assert client.get(delete_url(SeriesFactory(organization=other_org))).status_code == 200
    assert len(stored(filled)) == 4
