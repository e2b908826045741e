from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from .views import MassIncidentViewSet, PlatformStatsView, PlatformTrendView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("mass-incidents", MassIncidentViewSet, basename="mass-incident")

urlpatterns = [
    path("stats/platforms/", PlatformStatsView.as_view(), name="stats-platforms"),
    re_path(r"^stats/platforms/(?P<pk>[0-9]{1,18})/trend/$", PlatformTrendView.as_view(), name="stats-platform-trend"),
    *router.urls,
]
