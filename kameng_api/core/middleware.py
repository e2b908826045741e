"""Answers for /api/ requests that never reach a DRF view, in the error format of API.md.

- A URL over KAMENG_MAX_URL_LENGTH is a 414 before any routing (gunicorn's own limit_request_line is set
  above it in gunicorn.conf.py, so the application, not gunicorn's HTML page, answers).
- A Django HTML error page on an /api/ path (an unknown URL under DEBUG=true shows the technical 404
  page; a SuspiciousOperation raised outside DRF) is replaced by the JSON error.
"""

from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

API_PREFIX = "/api/"

_TYPES = {404: "not_found", 400: "bad_request", 403: "permission_denied", 405: "method_not_allowed",
          413: "request_too_large", 500: "error"}


def error_response(status: int, code: str, detail: str) -> JsonResponse:
    kind = "server_error" if status >= 500 else "client_error"
    return JsonResponse({"type": kind, "errors": [{"code": code, "detail": str(detail), "attr": None}]},
                        status=status)


def _messages():
    return {
        404: _("No such resource."),
        400: _("The request is malformed."),
        403: _("You do not have permission to perform this action."),
        405: _("This method is not allowed here."),
        413: _("The request body is too large."),
        500: _("A server error occurred."),
    }


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.KAMENG_MAX_URL_LENGTH
        raw_query = request.META.get("QUERY_STRING", "")
        if len(request.path_info) + len(raw_query) + 1 > limit:
            return error_response(414, "uri_too_long",
                                  _("The URL is longer than %(limit)s characters.") % {"limit": limit})
        response = self.get_response(request)
        if (
            request.path_info.startswith(API_PREFIX)
            and response.status_code in _TYPES
            and not response.get("Content-Type", "").startswith("application/json")
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
        ):
            status = response.status_code
            return error_response(status, _TYPES[status], _messages()[status])
        return response


ADMIN_PREFIX = "/admin/"


class AdminLanguageMiddleware:
    """The admin speaks the language its user chose (kept on the user, so it persists across browsers).
    The API is left to `Accept-Language`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        if request.path.startswith(ADMIN_PREFIX):
            user = getattr(request, "user", None)
            chosen = getattr(user, "language", "") if getattr(user, "is_authenticated", False) else ""
            if chosen and chosen in dict(settings.LANGUAGES):
                language = chosen
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True)
        return response
