from django.db import connection
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes


@extend_schema(
    tags=["health"],
    summary="Database and broker reachable",
    responses={
        200: inline_serializer("Health", {"status": serializers.CharField(), "database": serializers.CharField(),
                                          "broker": serializers.CharField()}),
        503: inline_serializer("HealthDown", {"status": serializers.CharField(),
                                              "database": serializers.CharField(),
                                              "broker": serializers.CharField()}),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def healthz(request):
    from kameng_api.celery import app

    result = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down"
        result["database"] = f"error: {exc.__class__.__name__}"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        result["broker"] = f"error: {exc.__class__.__name__}"
    ok = result["database"] == "ok" and result["broker"] == "ok"
    from rest_framework.response import Response

    return Response({"status": "ok" if ok else "down", **result}, status=200 if ok else 503)


def _error(status, type_, code, detail):
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request, exception=None):
    return _error(404, "client_error", "not_found", _("No such resource."))


def server_error(request):
    return _error(500, "server_error", "error", _("A server error occurred."))


def bad_request(request, exception=None):
    return _error(400, "client_error", "bad_request", _("Bad request."))


def permission_denied(request, exception=None):
    return _error(403, "client_error", "permission_denied",
                  _("You do not have permission to perform this action."))


def admin_language(request):
    """The admin's language switcher: the choice is kept in a cookie and, for a signed-in user, on the user,
    so it follows them to another browser (`AdminLanguageMiddleware`)."""
    from django.conf import settings
    from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
    from django.utils.http import url_has_allowed_host_and_scheme

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language.", content_type="text/plain; charset=utf-8")
    target = request.POST.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/admin/"
    user = request.user
    if getattr(user, "is_authenticated", False) and hasattr(user, "language") and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    response = HttpResponseRedirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure(), httponly=True)
    return response
class EnglishSchemaView(SpectacularAPIView):
    """The schema is generated with English active whatever the request's language: its identifiers
    (enum and parameter names a client generator turns into class names) are derived from field labels,
    which must not change with Accept-Language (API.md: "Schema identifiers ... are English")."""

    def _get_schema_response(self, request):
        with translation.override("en"):
            return super()._get_schema_response(request)
