from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from kameng_api.core.fields import MAX_ID

from .codes import DisputeType, ProductType, Status
from .models import Case, Merchant


class IdFilter(filters.Filter):
    """An id filter that refuses out-of-range numbers with a 400 instead of a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoundedDateTimeFilter(filters.IsoDateTimeFilter):
    """A time between 2000 and 2100: anything else is a typo, and some would overflow the database."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra.setdefault("validators", [validate_plausible_time])


def validate_plausible_time(value):
    if value is not None and not (2000 <= value.year <= 2100):
        raise ValidationError(_("Give a time between the years 2000 and 2100."), code="out_of_range")
    offset = value.utcoffset() if value is not None else None
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:  # PostgreSQL refuses these: a 400, not a 500
        raise ValidationError(_("Give a time between the years 2000 and 2100."), code="out_of_range")


MAX_UTC_OFFSET = timedelta(hours=16)


class CaseFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    platform = IdFilter(field_name="platform_id")
    dispute_type = filters.MultipleChoiceFilter(choices=DisputeType.choices)
    product_type = filters.MultipleChoiceFilter(choices=ProductType.choices)
    assignee = IdFilter(field_name="assignee_id")
    created_after = BoundedDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = BoundedDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = filters.CharFilter(method="filter_search", max_length=100,
                                help_text="Reference or order number (contains).")

    class Meta:
        model = Case
        fields = ["status", "platform", "dispute_type", "product_type", "assignee", "created_after",
                  "created_before", "search"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__icontains=value) | Q(order_number__icontains=value))


class MerchantFilter(filters.FilterSet):
    platform = IdFilter(field_name="platform_id")
    search = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = Merchant
        fields = ["platform", "search"]
