"""Writing Building X point values: the point's series, then the store."""

from django.db import transaction

from apps.inventory.models import Point
from apps.timeseries import store
from apps.timeseries.models import Series
from apps.timeseries.store import Policy, SampleBatch, WriteResult


def point_values_write(
    *, point: Point, ts: list[int], values: list[float], qualities: list[int | None], overwrite: bool
) -> WriteResult:
    """Store values of one point under `overwrite` (replace stored values; the last occurrence in
    the batch wins) or `keep` (stored values stay; later duplicates are dropped and their
    positions returned). All or nothing."""
    policy = Policy.OVERWRITE if overwrite else Policy.KEEP
    if point.series_id is not None:
        return store.write(SampleBatch([point.series_id] * len(ts), ts, values, qualities), policy)
    with transaction.atomic():
        series_id = _point_series_ensure(point)
        return store.write(SampleBatch([series_id] * len(ts), ts, values, qualities), policy)


def _point_series_ensure(point: Point) -> int:
    """A point added in the admin may have no series yet: its first write creates one, named and
    united like the point. The point's row lock makes two concurrent first writes create one
    series, not two. Runs in the caller's transaction, so a failed write creates nothing."""
    locked = Point.objects.select_for_update().only("pk", "series_id").get(pk=point.pk)
    if locked.series_id is None:
        series = Series.objects.create(
            organization_id=point.organization_id, name=point.name, unit=point.unit
        )
        Point.objects.filter(pk=point.pk).update(series=series)
        locked.series_id = series.pk
    point.series_id = locked.series_id
    return locked.series_id
