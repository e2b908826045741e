"""The error format of API.md on every 4xx/5xx, built on drf-standardized-errors.

Services raise domain errors (`kameng_api/core/exceptions.py`) that know nothing of HTTP; this module alone
gives each its status code (`DOMAIN_STATUS`).

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
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.renderers import JSONRenderer

from .exceptions import (
    BadRequest,
    Conflict,
    DomainError,
    PayloadTooLarge,
    RequestTooLarge,
    StorageUnavailable,
    TooManyFields,
    UnsupportedFileType,
)

DOMAIN_STATUS: dict[type[DomainError], int] = {
    Conflict: status.HTTP_409_CONFLICT,  # PreconditionFailed too: a stale If-Match is a 409 (API.md)
    PayloadTooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    UnsupportedFileType: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    StorageUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def http_status(exc: DomainError) -> int:
    """The status code of a domain error: its own class's, else the nearest base's, else 400."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return status.HTTP_400_BAD_REQUEST


def as_api_exception(exc: DomainError) -> exceptions.APIException:
    converted = exceptions.APIException(detail=str(exc.message), code=exc.code)
    converted.status_code = http_status(exc)
    return converted


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
    if isinstance(exc, DomainError):
        return as_api_exception(exc)
    if isinstance(exc, RecursionError):
        return exceptions.ParseError(_("The request is nested too deeply."), code="too_deep")
    return exc


class KamengExceptionHandler(ExceptionHandler):
    """Services raise Django's ValidationError (a 400) and domain errors (DOMAIN_STATUS); neither knows HTTP."""

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
