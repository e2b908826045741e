"""Errors of the contract that DRF has no class for (API.md, "Errors")."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409: an illegal state transition, a duplicate, or a stale If-Match."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the resource.")
    default_code = "conflict"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The file is too large.")
    default_code = "file_too_large"


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
