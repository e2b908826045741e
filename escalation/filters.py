from django_filters import rest_framework as filters

from cases.filters import BoundedDateTimeFilter, IdFilter

from . import selectors
from .codes import DeadlineKind
from .models import CalendarDay, Deadline


class DeadlineFilter(filters.FilterSet):
    due_before = BoundedDateTimeFilter(field_name="due_at", lookup_expr="lt",
                                       help_text="Due before this time (ISO 8601).")
    overdue = filters.BooleanFilter(method="filter_overdue", help_text="true: already past due; false: not yet.")
    case = IdFilter(field_name="case_id", help_text="Only this case's deadlines.")
    kind = filters.MultipleChoiceFilter(choices=DeadlineKind.choices)
    provisional = filters.BooleanFilter(help_text="Counted Monday–Friday: that year's schedule is not entered.")

    class Meta:
        model = Deadline
        fields = ["due_before", "overdue", "case", "kind", "provisional"]

    def filter_overdue(self, queryset, name, value):
        return selectors.overdue(queryset, value)


class CalendarDayFilter(filters.FilterSet):
    year = filters.NumberFilter(field_name="date__year", min_value=2000, max_value=2100,
                                help_text="Only this year's overrides.")

    class Meta:
        model = CalendarDay
        fields = ["year"]
