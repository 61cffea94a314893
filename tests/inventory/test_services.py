"""Datastream services: the daily import quota (also under concurrency), history imports, values."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from apps.core.exceptions import Invalid, QuotaExceeded
from apps.inventory.batch_update import DeviceRow, product_batch_update
from apps.inventory.models import DeviceImportDay, ValueType
from apps.inventory.services import datastream_history_import, datastream_values_set, device_import_quota_take
from apps.timeseries.query import samples_page
from tests.factories import DataStreamFactory, DeviceFactory, OrganizationFactory, ProductFactory

AT_MS = 1_702_728_000_000  # 2023-12-16T12:00:00Z
DAY = date(2023, 12, 16)


@pytest.fixture
def stream(org):
    return DataStreamFactory(device=DeviceFactory(organization=org, uid=1), stream_id=1, pin="v1")


def counted(device) -> int | None:
    return DeviceImportDay.objects.filter(device=device, day=DAY).values_list("points", flat=True).first()


def samples(stream):
    return [
        (r.ts, r.value) for r in samples_page(series_id=stream.series_id, start_ms=0, end_ms=2**62, limit=100)
    ]


def test_the_quota_admits_exactly_the_limit_and_refusals_count_nothing(stream):
    device = stream.device
    device_import_quota_take(device=device, points=9_999, at_ms=AT_MS)
    device_import_quota_take(device=device, points=1, at_ms=AT_MS)

    with pytest.raises(QuotaExceeded) as refused:
        device_import_quota_take(device=device, points=1, at_ms=AT_MS)

    assert counted(device) == 10_000
    assert refused.value.retry_after == 12 * 3600


def test_a_request_larger_than_the_limit_is_refused_on_an_empty_day(stream):
    with pytest.raises(QuotaExceeded):
        device_import_quota_take(device=stream.device, points=10_001, at_ms=AT_MS)

    assert counted(stream.device) is None


def test_a_history_import_is_all_or_nothing(stream):
    with pytest.raises(Invalid) as too_old:
        datastream_history_import(
            datastream=stream,
            ts=[AT_MS, AT_MS - 31 * 86_400_000],
            values=[1.0, 2.0],
            window_days=30,
            at_ms=AT_MS,
        )

    assert (too_old.value.field, too_old.value.index) == ("ts", 1)
    assert samples(stream) == []
    assert counted(stream.device) is None


def test_a_history_import_skips_far_future_points_and_counts_the_rest(stream):
    result = datastream_history_import(
        datastream=stream, ts=[AT_MS, AT_MS + 31 * 86_400_000], values=[1.0, 2.0], window_days=30, at_ms=AT_MS
    )

    assert (result.accepted, result.skipped) == (1, 1)
    assert samples(stream) == [(AT_MS, 1.0)]
    assert counted(stream.device) == 1


def test_a_history_import_into_a_location_datastream_is_invalid(org):
    location = DataStreamFactory(
        device=DeviceFactory(organization=org), value_type=ValueType.LOCATION, series=None
    )

    with pytest.raises(Invalid, match="location datastream: history is kept for numeric datastreams"):
        datastream_history_import(datastream=location, ts=[AT_MS], values=[1.0], window_days=30, at_ms=AT_MS)


def test_values_set_skips_unknown_ids_and_values_of_the_wrong_type(stream):
    text = DataStreamFactory(device=stream.device, stream_id=2, pin="v2", value_type=ValueType.STRING)

    count = datastream_values_set(device=stream.device, values={1: 5, 2: 6, 3: 7}, at_ms=AT_MS)

    assert count == 1
    text.refresh_from_db()
    assert text.value is None
    assert samples(stream) == [(AT_MS, 5.0)]


def test_a_batch_update_follows_sub_products_to_their_root(org):
    root = ProductFactory(organization=org)
    grandchild = ProductFactory(organization=org, parent=ProductFactory(organization=org, parent=root))
    first = DataStreamFactory(device=DeviceFactory(organization=org, uid=1, product=root), label="T")
    second = DataStreamFactory(device=DeviceFactory(organization=org, uid=2, product=grandchild), label="T")
    DeviceFactory(organization=OrganizationFactory(), uid=3, product=None)

    rows = [DeviceRow(0, 1, [1.5]), DeviceRow(1, 2, [2.5]), DeviceRow(2, 3, [3])]
    result = product_batch_update(organization=org, labels=["T"], rows=rows, at_ms=AT_MS)

    assert result.applied == 2
    assert [(row.index, row.reason.value) for row in result.skipped] == [(2, "device_not_found")]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.value, second.value) == (1.5, 2.5)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time anyway")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_both_take_the_last_points():
    """Two transactions race for 6,000 points each of a 10,000 allowance: the second waits on the
    counter row, re-checks against the committed count, and is refused."""
    device = DeviceFactory(organization=OrganizationFactory())
    first_holds_lock = threading.Event()
    outcomes: dict[str, str] = {}

    def take(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                device_import_quota_take(device=device, points=6_000, at_ms=AT_MS)
                if hold:
                    first_holds_lock.set()
                    threading.Event().wait(0.3)  # keep the row locked while the other one tries
            outcomes[name] = "taken"
        except QuotaExceeded:
            outcomes[name] = "refused"
        finally:
            connection.close()

    first = threading.Thread(target=take, args=("first", True))
    first.start()
    first_holds_lock.wait(5)
    second = threading.Thread(target=take, args=("second", False))
    second.start()
    first.join(10)
    second.join(10)

    assert outcomes == {"first": "taken", "second": "refused"}
    assert counted(device) == 6_000
