"""Query parameters of the dialects, declared once as django-filter FilterSets.

A FilterSet here declares the parameters an action reads: their names (the vendor's, `from`,
`page[limit]` included), types, bounds, defaults and descriptions. drf-spectacular documents them
from that declaration (its django-filter extension, see PathAutoSchema.get_filter_backends), and
the viewsets read them through it (`DialectViewSet.query`): the FilterSet's form validates and
converts, and the first invalid parameter, in declaration order, is answered with the message
docs/api.md gives, as an Invalid naming the parameter (each dialect renders it in its shape).

The FilterSets do not filter querysets: the selectors own the queries (and their query counts),
and the cleaned values are what the viewsets pass them. Each FilterSet still names the model its
values select (Meta.model), which django-filter and the schema generator expect.
"""

import re
from typing import Any, ClassVar

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes

from apps.core.exceptions import Invalid
from apps.core.text import NUL

MAX_LIST_ITEMS = 10_000
_INTEGER = re.compile(r"-?\d{1,18}")


class ParameterField(forms.Field):
    """A form field that knows its parameter's name (for the messages) and its default (the value
    when the parameter is absent). Absent and required: "'name' is required."."""

    def __init__(self, *, parameter: str, default: Any = None, **kwargs):
        self.parameter, self.default = parameter, default
        super().__init__(**kwargs)

    def __deepcopy__(self, memo):
        # Django copies a form's fields for every form, so that one form may change its own;
        # these keep nothing of a request, and every request would pay for the copy.
        return self

    def clean(self, value):
        if value is None or value == []:  # absent (an empty value is present, and invalid)
            if self.required:
                raise forms.ValidationError(f"'{self.parameter}' is required.", code="required")
            return self.default
        return self.convert(value)

    def convert(self, value):
        return value


class IntegerField(ParameterField):
    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def convert(self, value: str) -> int:
        if not _INTEGER.fullmatch(value.strip()):
            raise forms.ValidationError(f"'{self.parameter}' must be an integer.")
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise forms.ValidationError(f"'{self.parameter}' must be at least {self.minimum}.")
        if self.maximum is not None and number > self.maximum:
            raise forms.ValidationError(f"'{self.parameter}' must be at most {self.maximum}.")
        return number


class RepeatedWidget(forms.Widget):
    """Every value of a repeated parameter (`?uids=1,2&uids=3`), not only the last."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name)


class IntegerListField(ParameterField):
    widget = RepeatedWidget

    def convert(self, values: list[str]) -> list[int]:
        items = [part.strip() for value in values for part in value.split(",")]
        if not all(_INTEGER.fullmatch(item) for item in items):
            raise forms.ValidationError(f"'{self.parameter}' must be a comma-separated list of integers.")
        if len(items) > MAX_LIST_ITEMS:
            raise forms.ValidationError(f"'{self.parameter}' may hold at most {MAX_LIST_ITEMS} items.")
        return [int(item) for item in items]


class ChoiceField(ParameterField):
    def __init__(self, *, choices, **kwargs):
        self.values = [value for value, _ in choices]
        super().__init__(**kwargs)

    def convert(self, value: str) -> str:
        if value not in self.values:
            raise forms.ValidationError(f"'{self.parameter}' must be one of {', '.join(self.values)}.")
        return value


class TextField(ParameterField):
    """Free text; a NUL in it names nothing, and PostgreSQL could not even look it up."""

    def convert(self, value: str) -> str:
        if NUL in value:
            raise forms.ValidationError(f"'{self.parameter}' may not contain the NUL character (U+0000).")
        return value


class ParameterFilter(django_filters.Filter):
    """A declared query parameter. `default` is its value when absent; `help_text` documents it.
    The label stays empty so that the schema shows the help text or nothing."""

    field_class: ClassVar[type[ParameterField]] = ParameterField
    openapi_type: ClassVar[OpenApiTypes] = OpenApiTypes.STR  # how the schema shows its type

    def __init__(self, *, default: Any = None, **kwargs):
        kwargs.setdefault("label", "")
        super().__init__(**kwargs)
        self.default = default

    @property
    def field(self):
        if not hasattr(self, "_field"):
            self._field = self.field_class(parameter=self.field_name, default=self.default, **self.extra)
        return self._field


class IntegerFilter(ParameterFilter):
    """An integer within [minimum, maximum] (optional bounds)."""

    field_class = IntegerField
    openapi_type = OpenApiTypes.INT


class Integer64Filter(IntegerFilter):
    """An integer documented as int64 (epoch milliseconds)."""

    openapi_type = OpenApiTypes.INT64


class IntegerListFilter(ParameterFilter):
    """A list of integers given as `?x=1,2,3`, `?x=1&x=2&x=3` or both (the contract's rule), at
    most MAX_LIST_ITEMS; documented as a string, as the comma-separated form is the usual one."""

    field_class = IntegerListField


class ChoiceFilter(ParameterFilter):
    """One of `choices` (pairs, as Django's), documented as an enum."""

    field_class = ChoiceField


class TextFilter(ParameterFilter):
    field_class = TextField


class QueryParameters(django_filters.FilterSet):
    """The base of the dialects' FilterSets: `parse` gives the cleaned parameters or raises the
    first problem as an Invalid naming the parameter."""

    @classmethod
    def form_class(cls) -> type[forms.Form]:
        """The FilterSet's form class, built once per class: django-filter builds it, and the
        filters' fields, anew for every FilterSet, which cost 0.2 ms a request."""
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            filterset = cls(queryset=cls._meta.model._default_manager.none())
            form_class = cls._form_class = filterset.get_form_class()
        return form_class

    @classmethod
    def parse(cls, params) -> dict[str, Any]:
        form = cls.form_class()(params)
        if not form.is_valid():
            # form.errors holds the fields in the form's (the declaration's) order.
            name, errors = next(iter(form.errors.items()))
            raise Invalid(errors[0], field=name)
        return form.cleaned_data


class ParameterBackend(DjangoFilterBackend):
    """The filter backend of the dialects' viewsets. It filters nothing at run time (the
    viewsets call `QueryParameters.parse`); drf-spectacular documents an action's FilterSet
    through it (apps/api/common/schema.py, ParameterFilterExtension)."""
