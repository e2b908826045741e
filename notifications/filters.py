from django_filters import rest_framework as filters

from kameng_api.core.filters import FilterSet, IdFilter

from .models import Alert


class AlertFilter(FilterSet):
    acknowledged = filters.ChoiceFilter(choices=[("true", "true"), ("false", "false")], method="filter_acknowledged",
                                        help_text="true: acknowledged alerts only; false: the open ones.")
    kind = filters.CharFilter(max_length=20, help_text="due_soon_24h, due_soon_2h, overdue, late, very_late.")
    case = IdFilter(field_name="case_id")

    class Meta:
        model = Alert
        fields = ["acknowledged", "kind", "case"]

    def filter_acknowledged(self, queryset, name, value):
        return queryset.filter(acknowledged_at__isnull=value != "true")
