"""The list filter backend."""

from django_filters.rest_framework import DjangoFilterBackend


class FilterBackend(DjangoFilterBackend):
    """django-filter, except that a request naming none of the list's filters is not filtered at all.

    Building and validating a FilterSet's form (a deep copy of every filter and form field, choices
    included) costs more than rendering a page; with no filter given it changes nothing (no filter of
    this project is required or has a default), so a partner polling the plain list does not pay for it."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(name in request.query_params
                                              for name in filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)
