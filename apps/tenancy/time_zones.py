"""The time zones a person picks from: current IANA zones only (issue #15 item 6).

`zoneinfo.available_timezones()` holds ~600 names, many of them kept for old configurations: the
legacy names outside the continent and ocean areas (`Factory`, `localtime`, `EST`, `GB`, `PRC`,
`US/Eastern`, `Canada/*`, `Etc/GMT+1` with its inverted sign, ...) and, inside them, the old
names of renamed zones (`Asia/Calcutta`, `Europe/Kiev`, `America/Buenos_Aires`): where the system
has the database's `zone.tab` (every country's current zones, San Marino's and the Vatican's
included), only its names are listed. Those are left out of the list; `UTC` is kept.
The field's validation still accepts any available name, so a stored legacy zone keeps working.
"""

import functools
import zoneinfo
from pathlib import Path

from django import forms
from django.utils.html import format_html, format_html_join

AREAS = frozenset(
    (
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    )
)
DATALIST_ID = "ems-time-zones"


def _country_zones() -> set[str] | None:
    """The zones of the system's `zone.tab` (each country's current zones), if found."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            return {line.split("\t")[2] for line in lines if line and not line.startswith("#")}
    return None


@functools.cache
def current_time_zones() -> list[str]:
    """UTC, then the current zones of the continent and ocean areas, sorted."""
    listed = _country_zones()
    zones = (
        z
        for z in zoneinfo.available_timezones()
        if z.split("/")[0] in AREAS and (listed is None or z in listed)
    )
    return ["UTC", *sorted(zones)]


class TimeZoneInput(forms.TextInput):
    """A text input with the current zones as a datalist: type "Rome" and pick "Europe/Rome"."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {}), "list": DATALIST_ID, "autocomplete": "off"}
        options = format_html_join("", '<option value="{}">', ((zone,) for zone in current_time_zones()))
        return format_html(
            '{}<datalist id="{}">{}</datalist>',
            super().render(name, value, attrs, renderer),
            DATALIST_ID,
            options,
        )
