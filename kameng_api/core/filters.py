"""Filter fields shared by every list: each refuses what it cannot mean with a 400 (API.md, "Errors"),
instead of ignoring it or passing it to the database."""

import copy
from collections import OrderedDict
from datetime import UTC, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from .fields import MAX_ID

# PostgreSQL stores offsets up to ±15:59; the world's real ones stay within ±14:00.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.Filter):
    """An id filter that refuses out-of-range numbers with a 400 instead of a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def validate_plausible_time(value):
    if value is not None and not (2000 <= value.year <= 2100):
        raise ValidationError(_("Give a time between the years 2000 and 2100."), code="out_of_range")


class BoundedDateTimeField(forms.DateTimeField):
    """ISO 8601; an offset beyond ±15:59 is a 400; the instant is compared in UTC."""

    input_formats = []

    def strptime(self, value, format):
        raise ValueError

    def to_python(self, value):
        from django.utils.dateparse import parse_datetime

        if value in self.empty_values:
            return None
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(_("Give a time in ISO 8601, e.g. 2026-03-01T08:00:00+08:00."), code="invalid")
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValidationError(_("A time-zone offset lies between -15:59 and +15:59."), code="invalid_offset")
        if offset is None:
            parsed = timezone.make_aware(parsed)
        validate_plausible_time(parsed)
        return parsed.astimezone(UTC)


@extend_schema_field({"type": "string", "format": "date-time"})
class BoundedDateTimeFilter(filters.Filter):
    """A time between 2000 and 2100 with a real offset: anything else is a typo, some would be a database
    error."""

    field_class = BoundedDateTimeField


class StrictBooleanField(forms.Field):
    TRUE, FALSE = ("true", "1"), ("false", "0")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(_("Give true or false."), code="invalid_choice")


@extend_schema_field({"type": "boolean"})
class StrictBooleanFilter(filters.BooleanFilter):
    """`?overdue=maybe` is a 400, not a silently ignored filter."""

    field_class = StrictBooleanField  # type: ignore[assignment]  # django-filter takes any form field class

    def __init__(self, *args, **kwargs):
        kwargs["widget"] = forms.TextInput  # django-filter's BooleanWidget turns "maybe" into "no filter"
        super().__init__(*args, **kwargs)


class _SharedFieldsForm:
    """Mixed before forms.Form: the form's fields are shallow copies of the class's, not a deep copy (which
    copies every choice label of every field on every request). A filter form only validates query
    parameters; nothing in it changes a field."""

    base_fields: dict

    def __init__(self, *args, **kwargs):
        self.base_fields = {}  # an instance attribute: BaseForm.__init__ deep-copies nothing
        super().__init__(*args, **kwargs)
        self.fields = {name: copy.copy(field) for name, field in type(self).base_fields.items()}


class FilterSet(filters.FilterSet):
    """The base of every filterset (also those built from `filterset_fields`).

    django-filter deep-copies every filter, then builds a form class and deep-copies its fields, on every
    request: 1.5 ms of a filtered list request at 1,000,000 cases, more than the page's rendering. Here each
    request gets shallow copies of the filters (their model and parent are set per request, nothing else
    changes) and one form class per filterset class, whose fields are shared (`_SharedFieldsForm`)."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": BoundedDateTimeFilter},
    }

    _meta: Any  # django-filter's options, set by its metaclass
    _shared_form_class: Any

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        model = queryset.model
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = OrderedDict((name, copy.copy(filter_)) for name, filter_ in self.base_filters.items())
        for filter_ in self.filters.values():
            filter_.model = model  # type: ignore[attr-defined]  # as django-filter sets them
            filter_.parent = self  # type: ignore[attr-defined]
            if filter_.method is not None:  # its FilterMethod must point at this copy, not the class's filter
                filter_.method = filter_.method

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_shared_form_class")
        if form_class is None:
            fields = {name: filter_.field for name, filter_ in self.filters.items()}
            form_class = type(f"{cls.__name__}Form", (_SharedFieldsForm, self._meta.form), fields)
            cls._shared_form_class = form_class
        return form_class


class FilterBackend(DjangoFilterBackend):
    """django-filter on the strict FilterSet, except that a request naming none of the list's filters is not
    filtered at all.

    Building and validating a FilterSet's form (a deep copy of every filter and form field, choices
    included) costs more than rendering a page; with no filter given it changes nothing (no filter of
    this project is required or has a default), so a partner polling the plain list does not pay for it."""

    filterset_base = FilterSet

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(name in request.query_params
                                              for name in filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


@extend_schema_field({"type": "integer", "minimum": 2000, "maximum": 2100})
class YearFilter(filters.NumberFilter):
    field_class = forms.IntegerField  # type: ignore[assignment]  # django-filter takes any form field class

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 2000)
        kwargs.setdefault("max_value", 2100)
        super().__init__(*args, **kwargs)
