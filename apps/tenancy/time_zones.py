"""The time zones a person picks from: current IANA zones only (issue #15 item 6).

`zoneinfo.available_timezones()` holds ~600 names, many of them kept for old configurations: the
legacy names outside the continent and ocean areas (`Factory`, `localtime`, `EST`, `GB`, `PRC`,
`US/Eastern`, `Canada/*`, `Etc/GMT+1` with its inverted sign, ...) and, inside them, the links
the time zone database keeps for renamed zones (`Asia/Calcutta`, `Europe/Kiev`, read from the
database's `tzdata.zi` where the system has it). Those are left out of the list; `UTC` is kept.
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


def _links() -> set[str]:
    """The alias names (`L target alias` lines) of the system's time zone database, if found."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "tzdata.zi"
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            return {line.split()[2] for line in lines if line.startswith("L ") and len(line.split()) == 3}
    return set()


@functools.cache
def current_time_zones() -> list[str]:
    """UTC, then the current zones of the continent and ocean areas, sorted."""
    links = _links()
    zones = (z for z in zoneinfo.available_timezones() if z.split("/")[0] in AREAS and z not in links)
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
