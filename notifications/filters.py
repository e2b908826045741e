from django_filters import rest_framework as filters

from cases.filters import IdFilter

from .models import Alert


class AlertFilter(filters.FilterSet):
    acknowledged = filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True,
                                         help_text="true: acknowledged alerts only; false: the open ones.")
    kind = filters.CharFilter(max_length=20, help_text="due_soon_24h, due_soon_2h, overdue, late, very_late.")
    case = IdFilter(field_name="case_id")

    class Meta:
        model = Alert
        fields = ["acknowledged", "kind", "case"]
