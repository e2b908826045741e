from django_filters import rest_framework as filters

from kameng_api.core.filters import (
    BoundedDateTimeFilter,
    FilterSet,
    IdFilter,
    StrictBooleanFilter,
    YearFilter,
)

from . import selectors
from .codes import DeadlineKind
from .models import CalendarDay, Deadline


class DeadlineFilter(FilterSet):
    due_before = BoundedDateTimeFilter(field_name="due_at", lookup_expr="lt",
                                           help_text="Due before this time (ISO 8601).")
    overdue = StrictBooleanFilter(method="filter_overdue", help_text="true: already past due; false: not yet.")
    case = IdFilter(field_name="case_id", help_text="Only this case's deadlines.")
    kind = filters.MultipleChoiceFilter(choices=DeadlineKind.choices, distinct=False)
    provisional = StrictBooleanFilter(help_text="Counted Monday–Friday: that year's schedule is not entered.")

    class Meta:
        model = Deadline
        fields = ["due_before", "overdue", "case", "kind", "provisional"]

    def filter_overdue(self, queryset, name, value):
        return selectors.overdue(queryset, value)


class CalendarDayFilter(FilterSet):
    year = YearFilter(field_name="date__year", help_text="Only this year's overrides.")

    class Meta:
        model = CalendarDay
        fields = ["year"]
