"""The query parameters of the Blynk dialect's reads (API.md §2), declared once: the viewsets
read them through these FilterSets and the schema documents them from here."""

from django import forms

from apps.api.common.filters import (
    Integer64Filter,
    IntegerFilter,
    IntegerListField,
    IntegerListFilter,
    QueryParameters,
    TextFilter,
)
from apps.inventory.models import DataStream, Device

from .parsing import INT32_MAX

MAX_BATCH_DEVICES = 10
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 50


class DeviceIdsField(IntegerListField):
    """Distinct device ids, in the order given, at most MAX_BATCH_DEVICES."""

    def convert(self, values: list[str]) -> list[int]:
        uids = list(dict.fromkeys(super().convert(values)))
        if len(uids) > MAX_BATCH_DEVICES:
            raise forms.ValidationError(f"'{self.parameter}' may name at most {MAX_BATCH_DEVICES} devices.")
        return uids


class DeviceIdsFilter(IntegerListFilter):
    field_class = DeviceIdsField


class DataStreamValuesFilter(QueryParameters):
    deviceId = IntegerFilter(required=True)
    dataStreamIds = IntegerListFilter(help_text="Datastream ids to keep: 1,2 or repeated.")

    class Meta:
        model = DataStream
        fields = ()


class BatchDataStreamValuesFilter(QueryParameters):
    deviceIds = DeviceIdsFilter(required=True, help_text="At most 10 device ids: 1,2 or repeated.")
    dataStreamIds = IntegerListFilter(help_text="Datastream ids to keep: 1,2 or repeated.")

    class Meta:
        model = Device
        fields = ()


class HistoryForm(forms.Form):
    """The checks between parameters, each right after the later one of its pair is read, so the
    first problem in the order below is the one answered."""

    def clean_pin(self):
        pin = self.cleaned_data["pin"]
        if "dataStreamId" not in self.errors and self.cleaned_data.get("dataStreamId") is None and not pin:
            raise forms.ValidationError("'dataStreamId' or 'pin' is required.")
        return pin

    def clean_to(self):
        start, end = self.cleaned_data.get("from"), self.cleaned_data["to"]
        if start is not None and start > end:
            raise forms.ValidationError("'from' must not be after 'to'.")
        return end


class HistoryFilter(QueryParameters):
    deviceId = IntegerFilter(required=True)
    dataStreamId = IntegerFilter(minimum=0, maximum=INT32_MAX, help_text="The datastream (or give pin).")
    pin = TextFilter(help_text="The datastream's pin, e.g. v1 (when no dataStreamId).")
    locals()["from"] = Integer64Filter(required=True, help_text="Epoch ms, inclusive.")
    to = Integer64Filter(required=True, help_text="Epoch ms, inclusive.")
    page = IntegerFilter(default=0, minimum=0, maximum=INT32_MAX, help_text="0-based, default 0.")
    size = IntegerFilter(
        default=DEFAULT_PAGE_SIZE,
        minimum=1,
        maximum=MAX_PAGE_SIZE,
        help_text=f"1..{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}.",
    )

    class Meta:
        model = DataStream
        fields = ()
        form = HistoryForm
