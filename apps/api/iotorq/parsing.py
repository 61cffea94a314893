"""Reading and validating an ioTORQ import body (API.md §1), the dialect's hot path.

A 2 MB body holds ~68,000 points. orjson parses it in a few ms; validating the numbers element by
element through DRF fields would take hundreds. So the envelope (id_type, id_value, series,
time_unit) is checked item by item in plain Python, while the numbers of all items are gathered
into two flat lists and checked in one pass: a set of their Python types, then numpy.

Timestamps are converted to epoch milliseconds exactly. orjson reads `1494880000.123` as the
nearest double, which is a hair below the decimal; multiplying by 1000 in floating point and
truncating would give ...122. Instead the product is snapped to the nearest integer when it lies
within the rounding error of the decimal-to-double conversion and the multiplication (a few units
in the last place, see `_exact_ms`), which is exact for every timestamp written with at most
three decimals (whole milliseconds) in the accepted range; finer fractions are truncated to the
millisecond the instant falls in. JSON integers take an integer path and are exact by
construction.
"""

from typing import Any

import numpy as np
import orjson
from rest_framework.exceptions import UnsupportedMediaType

from apps.api.common.errors import PayloadTooLarge
from apps.core.exceptions import Invalid
from apps.core.text import NUL
from apps.imports.services import ImportPoints, ImportRejected, VariableRef
from apps.timeseries.models import MAX_TS_MS

BODY_LIMIT = 2_097_152
MAX_ERRORS = 100
MAX_METER_CODE = 100  # Series.meter_code
MAX_SERIES_ID = 2**63 - 1
TIME_UNITS = {"s": 1000, "ms": 1}
ID_TYPES = ("meter_code", "pk")
NUL_IN_METER_CODE = "A meter code may not contain the NUL character (U+0000)."
_MISSING = object()


def read_body(request, *, limit: int = BODY_LIMIT) -> Any:
    """The request's JSON body, parsed. 415 unless the body is declared `application/json`; the
    body is read up to `limit` bytes (the view already refused a larger Content-Length, this
    guards the read itself). Not the common ORJSONParser (apps.api.common.parsers) on purpose:
    the import answers an empty or malformed body in its own error list (ImportRejected), while
    DRF hands an empty body on as `{}` without calling a parser, and a parser's ParseError
    would bypass that list."""
    media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(media_type or "(none)")
    stream = request.stream
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    if not raw.strip():
        raise ImportRejected([Invalid("The request body is empty.")])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ImportRejected([Invalid(f"Malformed JSON: {exc}")]) from exc


def parse_import(data: Any) -> ImportPoints:
    """Validate an import body and normalize it: timestamps to epoch ms (int64), values to float64.

    Raises ImportRejected listing every error found (at most MAX_ERRORS), each with the item's
    index and the wire name of the field. Unknown keys are ignored.
    """
    if not isinstance(data, list):
        raise ImportRejected([Invalid(f"Expected a list of variables, not {_kind(data)}.")])
    if not data:
        raise ImportRejected([Invalid("Expected a list of variables, not an empty list.")])
    errors: list[Invalid] = []
    variables: list[VariableRef] = []
    indices: list[int] = []  # the body index of each item whose numbers are checked
    lengths: list[int] = []
    scales: list[int] = []
    flat_ts: list = []
    flat_values: list = []
    for index, item in enumerate(data):
        if len(errors) >= MAX_ERRORS:
            break
        if type(item) is not dict:
            errors.append(Invalid(f"Expected an object, not {_kind(item)}.", index=index))
            continue
        variable = _variable(item, index, errors)
        series = item.get("series", _MISSING)
        if series is _MISSING or series is None:
            errors.append(Invalid("This field is required.", field="series", index=index))
            continue
        if type(series) is not dict:
            errors.append(Invalid(f"Expected an object, not {_kind(series)}.", field="series", index=index))
            continue
        scale = _time_unit(item, series, index, errors)
        timestamps = _number_list(series, "datetime", index, errors)
        values = _number_list(series, "val", index, errors)
        if timestamps is not None and values is not None:
            if len(timestamps) != len(values):
                errors.append(
                    Invalid(
                        "Expected as many values as timestamps: "
                        f"{_count(len(values), 'value')}, {_count(len(timestamps), 'timestamp')}.",
                        field="series.val",
                        index=index,
                    )
                )
            elif not timestamps:
                errors.append(
                    Invalid("Expected at least one timestamp and value.", field="series", index=index)
                )
        if timestamps is None or values is None or len(timestamps) != len(values) or not timestamps:
            continue
        # The numbers of an item with other errors are checked too, so that one answer lists
        # everything wrong with it; the import is rejected anyway.
        variables.append(variable)
        indices.append(index)
        lengths.append(len(timestamps))
        scales.append(scale)
        flat_ts.extend(timestamps)
        flat_values.extend(values)

    lengths_array = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths_array)[:-1]]).astype(np.int64)
    scale = np.repeat(np.asarray(scales, dtype=np.int64), lengths_array)
    ts = _timestamps(flat_ts, scale, starts, indices, errors)
    values = _values(flat_values, starts, indices, errors)
    if errors:
        errors.sort(key=lambda e: -1 if e.index is None else e.index)
        raise ImportRejected(errors[:MAX_ERRORS])
    return ImportPoints(variables=variables, lengths=lengths_array, ts=ts, values=values)


def _variable(item: dict, index: int, errors: list[Invalid]) -> VariableRef | None:
    id_type = item.get("id_type", _MISSING)
    id_value = item.get("id_value", _MISSING)
    if id_type is _MISSING or id_type is None:
        errors.append(Invalid("This field is required.", field="id_type", index=index))
        id_type = None
    elif id_type not in ID_TYPES:
        errors.append(Invalid('Expected "meter_code" or "pk".', field="id_type", index=index))
        id_type = None
    if id_value is _MISSING or id_value is None:
        errors.append(Invalid("This field is required.", field="id_value", index=index))
        return None
    if id_type == "meter_code":
        # A code that looks like a number may arrive as one.
        code = str(id_value) if type(id_value) is int else id_value
        if type(code) is not str or not code or len(code) > MAX_METER_CODE:
            errors.append(
                Invalid(
                    f"Expected a meter code (a string of 1 to {MAX_METER_CODE} characters).",
                    field="id_value",
                    index=index,
                )
            )
            return None
        if NUL in code:  # see apps.core.text
            errors.append(Invalid(NUL_IN_METER_CODE, field="id_value", index=index))
            return None
        return VariableRef(meter_code=code)
    if id_type == "pk":
        pk = id_value
        if type(pk) is str and pk.isascii() and pk.isdigit() and len(pk) <= 19:
            pk = int(pk)
        if type(pk) is not int or not 1 <= pk <= MAX_SERIES_ID:
            errors.append(
                Invalid("Expected a variable id (a positive integer).", field="id_value", index=index)
            )
            return None
        return VariableRef(series_id=pk)
    return None


def _time_unit(item: dict, series: dict, index: int, errors: list[Invalid]) -> int:
    """`time_unit` in `series` or beside it (null counts as absent; both given must agree)."""
    given = {}
    for field, where in (("series.time_unit", series), ("time_unit", item)):
        unit = where.get("time_unit")
        if unit is None:
            continue
        if type(unit) is not str or unit not in TIME_UNITS:
            errors.append(Invalid('Expected "s" or "ms".', field=field, index=index))
            return 1000
        given[field] = unit
    if len(set(given.values())) > 1:
        errors.append(
            Invalid(
                'Contradicts series.time_unit: give the unit once, "s" or "ms".',
                field="time_unit",
                index=index,
            )
        )
        return 1000
    return TIME_UNITS[next(iter(given.values()), "s")]


def _number_list(series: dict, name: str, index: int, errors: list[Invalid]) -> list | None:
    items = series.get(name, _MISSING)
    if items is _MISSING or items is None:
        errors.append(Invalid("This field is required.", field=f"series.{name}", index=index))
        return None
    if type(items) is not list:
        errors.append(
            Invalid(f"Expected a list of numbers, not {_kind(items)}.", field=f"series.{name}", index=index)
        )
        return None
    return items


def _values(flat: list, starts: np.ndarray, indices: list[int], errors: list[Invalid]) -> np.ndarray:
    if not _all_numbers(flat):
        _report_non_numbers(flat, "series.val", starts, indices, errors)
        return np.empty(0)
    values = np.asarray(flat, dtype=np.float64)
    # orjson refuses NaN, Infinity and 1e400; this also catches integers beyond float64.
    bad = np.flatnonzero(~np.isfinite(values))
    _report(bad, "series.val", "is not a finite number", starts, indices, errors)
    return values


def _timestamps(
    flat: list, scale: np.ndarray, starts: np.ndarray, indices: list[int], errors: list[Invalid]
) -> np.ndarray:
    types = set(map(type, flat))
    if not types <= {int, float}:
        _report_non_numbers(flat, "series.datetime", starts, indices, errors)
        return np.empty(0, dtype=np.int64)
    limit = MAX_TS_MS // scale  # per point: the largest timestamp in its unit
    if float not in types:
        try:
            raw = np.asarray(flat, dtype=np.int64)
        except OverflowError:
            raw = None  # beyond 64 bits: out of range, found on the float path below
        if raw is not None:
            bad = np.flatnonzero((raw < 0) | (raw > limit))
            if len(bad):
                _report(bad, "series.datetime", _OUT_OF_RANGE, starts, indices, errors)
                return np.empty(0, dtype=np.int64)
            return raw * scale
    x = np.asarray(flat, dtype=np.float64)
    bad = np.flatnonzero(~((x >= 0) & (x < limit + 1)))
    if len(bad):
        _report(bad, "series.datetime", _OUT_OF_RANGE, starts, indices, errors)
        return np.empty(0, dtype=np.int64)
    ms = _exact_ms(x, scale)
    # Snapping may lift the very last fraction of 9999-12-31 by a millisecond.
    bad = np.flatnonzero(ms > MAX_TS_MS)
    _report(bad, "series.datetime", _OUT_OF_RANGE, starts, indices, errors)
    return ms


_OUT_OF_RANGE = "is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC"


def _exact_ms(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Epoch ms of timestamps `x` given in units of `scale` ms, exact for whole milliseconds.

    A decimal d with at most three decimals (in seconds) is N = 1000·d ms, an integer. orjson
    gives x = d(1 + e1), |e1| <= 2^-53, and y = fl(x·1000) is within 1000·ulp(x)/2 + ulp(y)/2 of
    N. For N < 2^51 (year 73,000; the range stops at 9999) that is well under 0.5, and the
    tolerance below (twice the bound) is far below the 1 ms gap between candidates, so y snaps to
    N and to nothing else. A timestamp with a finer fraction lies further from every integer (or
    is indistinguishable, as a double, from one that does not) and is truncated.
    """
    y = x * scale
    nearest = np.rint(y)
    tolerance = scale * np.spacing(x) + np.spacing(y)
    ms = np.where(np.abs(y - nearest) <= tolerance, nearest, np.floor(y))
    return ms.astype(np.int64)


def _all_numbers(flat: list) -> bool:
    # bool is a subclass of int, but type(True) is bool: booleans fail here as they should.
    return set(map(type, flat)) <= {int, float}


def _report_non_numbers(
    flat: list, field: str, starts: np.ndarray, indices: list[int], errors: list[Invalid]
) -> None:
    """The error path: find the elements that are not JSON numbers, by a plain loop."""
    bad = [i for i, v in enumerate(flat) if type(v) is not int and type(v) is not float]
    kinds = {i: _kind(flat[i]) for i in bad}
    _report(
        np.asarray(bad, dtype=np.int64),
        field,
        lambda i: f"is {kinds[i]}, not a number",
        starts,
        indices,
        errors,
    )


def _report(bad: np.ndarray, field: str, what, starts, indices, errors: list[Invalid]) -> None:
    """One error per item for the first bad element of that item; `bad` holds flat positions."""
    if not len(bad):
        return
    items = np.searchsorted(starts, bad, side="right") - 1
    _, first = np.unique(items, return_index=True)
    for position in bad[first][:MAX_ERRORS].tolist():
        item = int(np.searchsorted(starts, position, side="right") - 1)
        text = what(position) if callable(what) else what
        errors.append(
            Invalid(f"Element {position - int(starts[item])} {text}.", field=field, index=indices[item])
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _kind(value: Any) -> str:
    """How a JSON value is called in error messages."""
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case None:
            return "null"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__
