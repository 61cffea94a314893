import pytest

from apps.inventory.models import Device, ValueType
from tests.factories import DataStreamFactory


@pytest.fixture
def text_stream(world):
    """A string datastream (v3, "Status", no series) on the demo's device 101."""
    return DataStreamFactory(
        device=Device.objects.get(organization__slug="demo", uid=101),
        stream_id=3,
        pin="v3",
        label="Status",
        value_type=ValueType.STRING,
        series=None,
    )
