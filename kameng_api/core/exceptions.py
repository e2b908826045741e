"""Errors, in two families.

Domain errors (`DomainError`): what a service refuses, in words and a stable code, knowing nothing of HTTP.
The API's error handler (`kameng_api/core/errors.py`) gives them their status code and the error format of
API.md; the admin puts them on the form.

HTTP errors (`APIException`): refusals of the request itself (its size, its shape, a missing If-Match),
raised by the HTTP layer (middleware, parsers, permission classes), never by a service."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class DomainError(Exception):
    """A service's refusal: a message for the reader and a stable machine code (API.md, "Errors")."""

    default_message: str | Promise = _("The request cannot be carried out.")
    default_code = "error"

    def __init__(self, message: object = None, code: str | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class Conflict(DomainError):
    """An illegal state change, a duplicate, or a stale If-Match (409)."""

    default_message = _("The request conflicts with the current state of the resource.")
    default_code = "conflict"


class PreconditionFailed(Conflict):
    """The version the caller holds (If-Match) is not the current one: reload and retry (409, API.md)."""

    default_message = _("The resource was changed by someone else; reload it and retry.")
    default_code = "stale_if_match"


class PayloadTooLarge(DomainError):
    """An evidence file over the upload limit (413)."""

    default_message = _("The file is too large.")
    default_code = "file_too_large"


class UnsupportedFileType(DomainError):
    """A file whose content is not accepted for its kind of evidence (415)."""

    default_message = _("This type of file is not accepted.")
    default_code = "file_type_not_allowed"


class StorageUnavailable(DomainError):
    """The object store did not take or give the bytes (down, refused, wrong credentials): 503, and the
    request leaves nothing behind (the multipart upload is aborted, no row is written)."""

    default_message = _("The evidence storage is not available; try again later.")
    default_code = "storage_unavailable"

    def __init__(self, reason: str = ""):
        super().__init__()
        self.reason = reason


# --- the HTTP layer's own refusals --------------------------------------------------------------------

class RequestTooLarge(APIException):
    """413: a request body (not an evidence file) over DATA_UPLOAD_MAX_MEMORY_SIZE."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class TooManyFields(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The request has too many form fields.")
    default_code = "too_many_fields"


class BadRequest(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The request is malformed.")
    default_code = "bad_request"


class UriTooLong(APIException):
    status_code = status.HTTP_414_REQUEST_URI_TOO_LONG
    default_detail = _("The URL is too long.")
    default_code = "uri_too_long"


class PreconditionRequired(APIException):
    """428: a PATCH without If-Match (API.md, "Preconditions"), so no update is lost."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _("Send If-Match with the ETag from your last GET; updates without it are refused.")
    default_code = "precondition_required"
