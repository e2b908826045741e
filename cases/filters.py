
from django.db import connections
from django.db.models import Q
from django_filters import rest_framework as filters

from kameng_api.core.filters import BoundedDateTimeFilter, FilterSet, IdFilter, validate_plausible_time

from .codes import DisputeType, ProductType, Status
from .models import Case, Merchant

REFERENCE_PREFIX = "KM-"


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
        by_reference = Q(reference__icontains=value)
        if value.upper().startswith(REFERENCE_PREFIX):
            by_reference = Q(reference__istartswith=value)
            if connections[queryset.db].vendor == "sqlite":
                # References are upper-case ASCII and SQLite compares text byte by byte: the prefix is a
                # range of the unique index on reference.
                prefix = value.upper()
                by_reference = Q(reference__gte=prefix, reference__lt=prefix + "\U0010ffff")
        return queryset.filter(by_reference | Q(order_number__icontains=value))


class MerchantFilter(FilterSet):
    platform = IdFilter(field_name="platform_id")
    search = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = Merchant
        fields = ["platform", "search"]
