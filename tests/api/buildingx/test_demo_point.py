"""The demo's Building X point is a series of its own: the vendor's quick-start, run against the
demo, must not write into the main meter's energy register (EMS signal 5) or any other series."""

import pytest
from django.db import connection

from apps.inventory.models import Point, Signal
from apps.timeseries.models import Series
from tests.api.dialect_clients import bearer, buildingx_token

from .conftest import point_value, post_values, stored, values_path

pytestmark = pytest.mark.django_db

QUICKSTART_MS = 1_657_537_890_333  # 2022-07-11T11:11:30.333Z, the quick-start's first timestamp


def samples_per_series() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT series_id, COUNT(*) FROM timeseries_sample GROUP BY series_id")
        return dict(cursor.fetchall())


def test_the_quickstart_values_land_in_the_points_own_series_only(demo):
    # The demo itself (seed_demo), not a small world: its wiring is what this test is about.
    creds = demo["buildingx"]
    api = bearer(buildingx_token(creds))
    point = Point.objects.select_related("series").get(uuid=creds["point_id"])
    energy = Signal.objects.select_related("series").get(organization=point.organization, uid=5).series
    assert point.series_id != energy.pk
    assert not Signal.objects.filter(series=point.series).exists()
    before = samples_per_series()

    response = post_values(
        api,
        values_path(creds),
        {"data": [point_value("2022-07-11T11:11:30.333Z", "12.66"), point_value("2022-07-11T11:11:31.333Z")]},
    )

    assert response.status_code == 204
    assert stored(creds, QUICKSTART_MS, QUICKSTART_MS + 2_000) == [
        (QUICKSTART_MS, 12.66, None),
        (QUICKSTART_MS + 1_000, 12.66, None),
    ]
    after = samples_per_series()
    assert {pk: count - before.get(pk, 0) for pk, count in after.items() if count != before.get(pk, 0)} == {
        point.series_id: 2
    }
    energy_now = Series.objects.get(pk=energy.pk)
    assert (energy_now.last_ts, energy_now.last_value) == (energy.last_ts, energy.last_value)
