from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from kameng_api.core.health import livez, readyz
from kameng_api.core.views import EnglishSchemaView, admin_language, healthz

api_v1 = [
    path("", include("cases.api.urls")),
    path("", include("evidence.api.urls")),
    path("", include("escalation.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("stats.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("procedure.api.urls")),
]

urlpatterns = [
    path("admin/language/", admin_language, name="km_language"),
    path("admin/", admin.site.urls),
    path("analyst/", include("stats.analyst_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", EnglishSchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
]

handler400 = "kameng_api.core.views.bad_request"
handler403 = "kameng_api.core.views.permission_denied"
handler404 = "kameng_api.core.views.not_found"
handler500 = "kameng_api.core.views.server_error"
