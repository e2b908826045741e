from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from .views import (
    MassIncidentViewSet,
    PlatformStatsView,
    PlatformTrendView,
    PreparedReportFileView,
    PreparedReportListView,
    ReportView,
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("mass-incidents", MassIncidentViewSet, basename="mass-incident")

urlpatterns = [
    path("stats/platforms/", PlatformStatsView.as_view(), name="stats-platforms"),
    re_path(r"^stats/platforms/(?P<pk>[0-9]{1,18})/trend/$", PlatformTrendView.as_view(), name="stats-platform-trend"),
    path("stats/report/", ReportView.as_view(), name="stats-report"),
    path("stats/reports/", PreparedReportListView.as_view(), name="stats-reports"),
    re_path(r"^stats/reports/(?P<pk>[0-9]{1,18})/(?P<kind>xlsx|docx)/$", PreparedReportFileView.as_view(),
            name="stats-report-file"),
    *router.urls,
]
