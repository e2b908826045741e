"""The error format of API.md on every 4xx/5xx, built on drf-standardized-errors.

Django refuses oversized or malformed requests with SuspiciousOperation subclasses while DRF parses the
body; they are mapped here, in one place, so every endpoint answers them as 4xx in the error format."""

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework.renderers import JSONRenderer

from .exceptions import BadRequest, RequestTooLarge, TooManyFields


def convert_request_error(exc: Exception) -> Exception:
    """Django's refusals of a request body, as API errors (shared with the middleware)."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        return TooManyFields()
    if isinstance(exc, TooManyFilesSent):
        return BadRequest(_("The request has too many files."), code="too_many_files")
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
    if isinstance(exc, RecursionError):
        return exceptions.ParseError(_("The request is nested too deeply."), code="too_deep")
    return exc


class KamengExceptionHandler(ExceptionHandler):
    """Services raise Django's ValidationError (they do not know about HTTP); it becomes a 400 here."""

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=get_error_detail(exc))
        converted = convert_request_error(exc)
        if converted is not exc:
            return converted
        return super().convert_known_exceptions(exc)

    def get_response(self, exc, data):
        """An error is JSON whatever the success answer of the view would have been (a ZIP, a CSV, a file):
        the view's renderer is replaced for this answer."""
        request = self.context.get("request")
        if request is not None and getattr(request, "accepted_media_type", "") != JSONRenderer.media_type:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().get_response(exc, data)
