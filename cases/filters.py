from django.db.models import Q
from django_filters import rest_framework as filters

from kameng_api.core.filters import BoundedDateTimeFilter, FilterSet, IdFilter, validate_plausible_time

from .codes import DisputeType, ProductType, Status
from .models import Case, Merchant

__all__ = ["BoundedDateTimeFilter", "CaseFilter", "IdFilter", "MerchantFilter", "validate_plausible_time"]


class CaseFilter(FilterSet):
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


class MerchantFilter(FilterSet):
    platform = IdFilter(field_name="platform_id")
    search = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = Merchant
        fields = ["platform", "search"]
