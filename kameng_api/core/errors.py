"""The error format of API.md on every 4xx/5xx, built on drf-standardized-errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions
from rest_framework.fields import get_error_detail


class KamengExceptionHandler(ExceptionHandler):
    """Services raise Django's ValidationError (they do not know about HTTP); it becomes a 400 here."""

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=get_error_detail(exc))
        return super().convert_known_exceptions(exc)
