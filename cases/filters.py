
import re

from django.db import connections
from django.db.models import BooleanField, F, Func, IntegerField, Q, Value
from django.db.models.functions import StrIndex, Upper
from django_filters import rest_framework as filters

from kameng_api.core.filters import BoundedDateTimeFilter, FilterSet, IdFilter, validate_plausible_time

from .codes import DisputeType, ProductType, Status
from .models import Case, Merchant

REFERENCE_PREFIX = "KM-"
# Every reference is `KM-<year>-<number>` (cases/services.py, _next_reference) in at most 20 characters
# (Case.reference), so a number has at most 12 digits: a term with any other character, or a longer run
# of digits, is in no reference, and the reference index is not asked.
_REFERENCE_FRAGMENT = re.compile(r"[KM0-9-]{1,20}")
_LONGEST_DIGITS = 12
GRAM = 6  # the pieces of kameng_grams (migration cases/0011_order_number_grams)


def could_be_in_reference(term: str) -> bool:
    upper = term.upper()
    return bool(_REFERENCE_FRAGMENT.fullmatch(upper)) and all(
        len(run) <= _LONGEST_DIGITS for run in re.findall(r"[0-9]+", upper))


def _order_number_contains(value: str, vendor: str) -> Q:
    """Case-insensitive "contains" on the order number. On PostgreSQL a term of GRAM characters or more is
    looked up by its six-character pieces (rare, so the index reads a handful of entries, where the trigrams
    of an 18-digit number are in every other row) and checked with strpos, which the trigram index does not
    take part in."""
    if vendor != "postgresql" or len(value) < GRAM:
        return Q(order_number__icontains=value)
    has_pieces = Func(Func(F("order_number"), function="kameng_grams"), Func(Value(value), function="kameng_grams"),
                      template="(%(expressions)s)", arg_joiner=" @> ", output_field=BooleanField())
    position = StrIndex(Upper("order_number"), Upper(Value(value)), output_field=IntegerField())
    contained = Func(position, Value(0), template="(%(expressions)s)", arg_joiner=" > ", output_field=BooleanField())
    return Q(has_pieces) & Q(contained)


__all__ = ["BoundedDateTimeFilter", "CaseFilter", "IdFilter", "MerchantFilter", "validate_plausible_time"]


class CaseFilter(FilterSet):
    """Each filter is answered by an index that leads with the organization and ends with the list order
    (cases/models.py, LIST_INDEXES). No filter joins, so none needs DISTINCT (which would sort every
    matching row before the first page could be returned)."""

    status = filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    platform = IdFilter(field_name="platform_id")
    dispute_type = filters.MultipleChoiceFilter(choices=DisputeType.choices, distinct=False)
    product_type = filters.MultipleChoiceFilter(choices=ProductType.choices, distinct=False)
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
        """Reference or order number containing the term (case-insensitive). References are
        `KM-<year>-<number>`: "KM-" occurs only at their start, so a term that begins with it is contained
        in a reference exactly when the reference begins with it, which an index answers as a range."""
        value = value.strip()
        if not value:
            return queryset
        vendor = connections[queryset.db].vendor
        by_order_number = _order_number_contains(value, vendor)
        if not could_be_in_reference(value):
            return queryset.filter(by_order_number)
        by_reference = Q(reference__icontains=value)
        if value.upper().startswith(REFERENCE_PREFIX):
            by_reference = Q(reference__istartswith=value)
            if vendor == "sqlite":
                # References are upper-case ASCII and SQLite compares text byte by byte: the prefix is a
                # range of the unique index on reference.
                prefix = value.upper()
                by_reference = Q(reference__gte=prefix, reference__lt=prefix + "\U0010ffff")
        return queryset.filter(by_reference | by_order_number)


class MerchantFilter(FilterSet):
    platform = IdFilter(field_name="platform_id")
    search = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = Merchant
        fields = ["platform", "search"]
