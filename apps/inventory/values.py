"""What a datastream's current value may be, by the datastream's type: one rule for the API's
writes (services), the admin's form (DataStream.clean) and what the API shows (a value stored
before the rule, or in SQL, that breaks it is shown as unset rather than answered with a 500)."""

import math
from typing import Any

from django.db import models

from apps.core.text import NUL


class ValueType(models.TextChoices):
    """A datastream's type (DataStream.value_type; defined here, below the models, which check
    their values with this module)."""

    STRING = "string", "String"
    INTEGER = "integer", "Integer"
    DOUBLE = "double", "Double"
    ENUM = "enum", "Enum"
    LOCATION = "location", "Location"


class ValueMismatch(Exception):
    """A value that does not fit a datastream's type; the message says what was expected."""


def _number(value: Any) -> float:
    # bool is an int subclass: a JSON true is not the number 1 (API.md §0).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueMismatch("a number")
    try:
        number = float(value)
    except OverflowError as exc:
        raise ValueMismatch("a finite number") from exc
    if not math.isfinite(number):
        raise ValueMismatch("a finite number")
    return number


def value_fitted(*, value_type: str, value: Any) -> Any:
    """`value` as it is stored for a datastream of `value_type`; ValueMismatch when it does not fit.

    Numbers are stored as given (an integer stays one); a location is `[lon, lat]` with
    longitude in [-180, 180] and latitude in [-90, 90]; a string holds no NUL (the value is kept
    as jsonb, which cannot hold one: apps.core.text).
    """
    if value_type == ValueType.STRING:
        if not isinstance(value, str):
            raise ValueMismatch("a string")
        if NUL in value:
            raise ValueMismatch("a string without the NUL character (U+0000)")
        return value
    if value_type == ValueType.LOCATION:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueMismatch("[longitude, latitude]")
        lon, lat = (_number(item) for item in value)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueMismatch("[longitude, latitude] within [-180, 180] and [-90, 90]")
        return [value[0], value[1]]
    _number(value)
    return value


def value_fits(*, value_type: str, value: Any) -> bool:
    try:
        value_fitted(value_type=value_type, value=value)
    except ValueMismatch:
        return False
    return True


def type_name(value_type: str) -> str:
    """A value type as messages name it: "double", "location"..."""
    return ValueType(value_type).label.lower()
