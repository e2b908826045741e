"""The admin speaks the language its user chose (kept on the user, so it persists across browsers).
The API is left to `Accept-Language`."""

from django.conf import settings
from django.utils import translation

ADMIN_PREFIX = "/admin/"


class AdminLanguageMiddleware:
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
