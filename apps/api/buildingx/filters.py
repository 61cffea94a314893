"""The query parameters of the Building X read extension (API.md §3), declared once: the viewset
reads them through this FilterSet and the schema documents them from here."""

import re

from django import forms
from drf_spectacular.types import OpenApiTypes

from apps.api.common.filters import IntegerFilter, ParameterField, ParameterFilter, QueryParameters
from apps.core.exceptions import Invalid
from apps.inventory.models import Point

from .errors import MemberInvalid
from .parsing import (
    DEFAULT_PAGE_LIMIT,
    FILTER_GTE,
    FILTER_LT,
    MAX_PAGE_LIMIT,
    PAGE_CURSOR,
    PAGE_LIMIT,
    REFUSED_PARAMETERS,
    cursor_ts,
    timestamp_ms,
)

_UNENCODED_PLUS = re.compile(r"(:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$", re.ASCII)


class TimestampField(ParameterField):
    """An RFC 3339 date-time, as epoch milliseconds. A "+02:00" offset typed into a URL
    unencoded arrives as " 02:00" (a "+" in a query string is a space); nothing else can put a
    space there, so it is read as the "+" it was."""

    def convert(self, value: str) -> int:
        ms = timestamp_ms(_UNENCODED_PLUS.sub(r"\1+\2", value))
        if ms is None:
            raise forms.ValidationError(
                f"'{self.parameter}' must be an RFC 3339 date-time, e.g. 2022-07-11T11:11:30Z."
            )
        return ms


class CursorField(ParameterField):
    """The opaque cursor of `links.next`, as the timestamp it holds."""

    def convert(self, value: str) -> int:
        try:
            return cursor_ts(value)
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from exc


class TimestampFilter(ParameterFilter):
    field_class = TimestampField
    openapi_type = OpenApiTypes.DATETIME


class CursorFilter(ParameterFilter):
    field_class = CursorField


class PointValuesFilter(QueryParameters):
    """JSON:API's `filter[...]` and `page[...]` families are ours to define, and a server must
    refuse `include` and `sort` it does not support: any such parameter not declared here is
    refused (400 unsupported-parameter) before the others are read, rather than ignored."""

    locals()[FILTER_GTE] = TimestampFilter(help_text="RFC 3339; values at or after it.")
    locals()[FILTER_LT] = TimestampFilter(help_text="RFC 3339; values before it.")
    locals()[PAGE_LIMIT] = IntegerFilter(
        default=DEFAULT_PAGE_LIMIT,
        minimum=1,
        maximum=MAX_PAGE_LIMIT,
        help_text=f"1..{MAX_PAGE_LIMIT}, default {DEFAULT_PAGE_LIMIT}.",
    )
    locals()[PAGE_CURSOR] = CursorFilter(help_text="Opaque; take it from links.next.")

    class Meta:
        model = Point
        fields = ()

    @classmethod
    def parse(cls, params) -> dict:
        for name in params:
            if REFUSED_PARAMETERS.fullmatch(name) and name not in cls.base_filters:
                raise MemberInvalid("unsupported-parameter", f"'{name}' is not supported.", parameter=name)
        return super().parse(params)
