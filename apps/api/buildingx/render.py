"""Building X wire shapes: PointValue resources. The vendor's documents carry no `id`, but JSON:API
requires one in every resource a server returns (and its clients index resources by it): a value
is identified within its point by its timestamp, so its `id` is that timestamp (UTC, to the
millisecond, the store's resolution)."""

from datetime import UTC, datetime, timedelta

from apps.timeseries.query import SampleRow

from .parsing import RESOURCE_TYPE, PointValues

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(ms: int) -> str:
    """RFC 3339 in UTC with exactly three fraction digits: `2022-07-11T11:11:30.333Z`."""
    at = _EPOCH + timedelta(milliseconds=ms)
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
        f".{ms % 1000:03d}Z"
    )


def value_text(value: float) -> str:
    """A stored value as the string Building X carries: the shortest text that reads back as the
    same double, without a trailing `.0` (12.66 -> "12.66", 5.0 -> "5")."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def point_value(ts: int, value: float, quality: int | None) -> dict:
    at = timestamp(ts)
    attributes = {"timestamp": at, "value": value_text(value)}
    if quality is not None:
        attributes["qualityOfValue"] = quality
    return {"id": at, "type": RESOURCE_TYPE, "attributes": attributes}


def accepted(values: PointValues, dropped: list[int]) -> dict:
    """The 202 body: the values stored, in request order, and the positions of those dropped."""
    skip = set(dropped)
    data = [
        point_value(values.ts[i], values.values[i], values.qualities[i])
        for i in range(len(values))
        if i not in skip
    ]
    return {"data": data, "meta": {"droppedIndices": dropped}}


def page(rows: list[SampleRow], next_link: str | None) -> dict:
    return {"data": [point_value(*row) for row in rows], "links": {"next": next_link}}
