"""The widget properties of a Blynk datastream (API.md §2, POST .../device/datastream/property):
their names and what each may hold on the wire, and the value stored for it."""

import math
import re
from typing import Any

from apps.core.exceptions import Invalid
from apps.core.text import NUL

PROPERTY_VALUE_MAX_LENGTH = 200
WIDGET_PROPERTIES = ("label", "color", "min", "max", "step", "units")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def widget_property_value(name: str, value: Any) -> Any:
    """The stored form of widget property `name` set to `value`; Invalid naming the rule it breaks.

    `name` is one of WIDGET_PROPERTIES; `value` a string of at most 200 characters that fits it:
    `color` is #RRGGBB, `min`/`max`/`step` are decimal numbers (stored as numbers; `step` > 0),
    `label` is not blank, `units` any text (empty clears it).
    """
    if name not in WIDGET_PROPERTIES:
        raise Invalid(f"'property' must be one of {', '.join(WIDGET_PROPERTIES)}.", field="property")
    if not isinstance(value, str):
        raise Invalid("'value' must be a string.", field="value")
    if len(value) > PROPERTY_VALUE_MAX_LENGTH:
        raise Invalid(f"'value' must be at most {PROPERTY_VALUE_MAX_LENGTH} characters.", field="value")
    if NUL in value:  # properties are kept as jsonb, which cannot hold one (apps.core.text)
        raise Invalid("'value' may not contain the NUL character (U+0000).", field="value")
    if name == "color":
        if not _COLOR.fullmatch(value):
            raise Invalid("'value' must be a color in the form #RRGGBB for property 'color'.", field="value")
        return value
    if name in ("min", "max", "step"):
        text = value.strip()
        number = float(text) if _DECIMAL.fullmatch(text) else math.nan
        if not math.isfinite(number):
            raise Invalid(f"'value' must be a number for property '{name}'.", field="value")
        if name == "step" and number <= 0:
            raise Invalid("'value' must be a positive number for property 'step'.", field="value")
        return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number
    if name == "label" and not value.strip():
        raise Invalid("'value' must not be blank for property 'label'.", field="value")
    return value
