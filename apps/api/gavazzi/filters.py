"""The query parameters of the EMS gateway's reads (API.md §4), declared once: the viewsets read
them through these FilterSets and the schema documents them from here. The order of declaration
is the order they are checked in: the first bad one is answered."""

from django import forms

from apps.api.common.filters import (
    ChoiceFilter,
    IntegerFilter,
    IntegerListFilter,
    QueryParameters,
)
from apps.core.time import now_ms
from apps.inventory.models import Device, Load, Protocol, Signal

PROTOCOLS = [choice.value for choice in Protocol]
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
DAY_MS = 86_400_000


def uids():
    return IntegerListFilter(help_text="Comma-separated uids, e.g. 1,2,59 (or repeated).")


def protocol():
    return ChoiceFilter(choices=[(value, value) for value in PROTOCOLS])


def limit():
    return IntegerFilter(
        default=DEFAULT_LIMIT,
        minimum=1,
        maximum=MAX_LIMIT,
        help_text="Records per page (per signal for history), 1..10000.",
    )


def page():
    return IntegerFilter(default=1, minimum=1, maximum=10**9, help_text="1-based page number.")


class DeviceFilter(QueryParameters):
    uids = uids()
    protocol = protocol()

    class Meta:
        model = Device
        fields = ()


class LoadFilter(QueryParameters):
    uids = uids()
    protocol = protocol()

    class Meta:
        model = Load
        fields = ()


class SignalFilter(QueryParameters):
    """Signals, their realtime values and latest records: `limit` and `page` count signals."""

    limit = limit()
    page = page()
    uids = uids()

    class Meta:
        model = Signal
        fields = ()


class WindowForm(forms.Form):
    """`end` defaults to now and `start` to a day before `end`; then `start` must come first."""

    def clean_start(self):
        if "end" in self.errors:
            return self.cleaned_data["start"]
        end = self.cleaned_data["end"]
        end = now_ms() if end is None else end
        start = self.cleaned_data["start"]
        start = end - DAY_MS if start is None else start
        if start >= end:
            raise forms.ValidationError("'start' must be before 'end'.")
        self.cleaned_data["end"] = end
        return start


class SignalHistoryFilter(QueryParameters):
    """Rollups of one signal: `limit` and `page` count records."""

    end = IntegerFilter(minimum=0, help_text="Epoch ms, exclusive. Default: now.")
    start = IntegerFilter(minimum=0, help_text="Epoch ms, inclusive. Default: end minus 24 hours.")
    limit = limit()
    page = page()

    class Meta:
        model = Signal
        fields = ()
        form = WindowForm


class HistoryFilter(SignalHistoryFilter):
    """Rollups of each signal of a scope: `limit` and `page` count records per signal."""

    uids = uids()

    class Meta(SignalHistoryFilter.Meta):
        pass
