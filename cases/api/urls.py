from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CaseViewSet, MerchantViewSet, MeView, PlatformViewSet, TokenView

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("platforms", PlatformViewSet, basename="platform")
router.register("merchants", MerchantViewSet, basename="merchant")

urlpatterns = [path("auth/token/", TokenView.as_view(), name="auth-token"),
               path("auth/me/", MeView.as_view(), name="auth-me"), *router.urls]
