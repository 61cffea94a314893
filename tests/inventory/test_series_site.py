"""A series created for a device's datastream takes the device's site (issue #14)."""

import pytest

from apps.inventory.models import ValueType
from apps.inventory.services import datastream_value_set
from tests.factories import DataStreamFactory, DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_a_datastreams_first_numeric_value_creates_its_series_at_the_devices_site(org):
    site = SiteFactory(organization=org, time_zone="Asia/Tokyo")
    device = DeviceFactory(organization=org, site=site)
    stream = DataStreamFactory(device=device, value_type=ValueType.DOUBLE, series=None)

    datastream_value_set(datastream=stream, value=21.5, at_ms=1_700_000_000_000)

    stream.refresh_from_db()
    assert stream.series.site == site
    assert stream.series.kind == "measurement"


def test_a_datastream_of_a_device_without_site_gets_a_series_without_site(org):
    stream = DataStreamFactory(
        device=DeviceFactory(organization=org), value_type=ValueType.DOUBLE, series=None
    )

    datastream_value_set(datastream=stream, value=21.5, at_ms=1_700_000_000_000)

    stream.refresh_from_db()
    assert stream.series is not None
    assert stream.series.site is None
