from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .views import (
    CalendarStatusView,
    CalendarView,
    CaseEscalationsView,
    CaseWaitingView,
    DeadlineViewSet,
    DocumentView,
    EscalationViewSet,
    LetterView,
    RecommendationView,
)

router = SimpleRouter()
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("deadlines", DeadlineViewSet, basename="deadline")

CASE = r"^cases/(?P<case_id>[0-9]{1,18})"

urlpatterns = [
    re_path(rf"{CASE}/escalations/$", CaseEscalationsView.as_view(), name="case-escalations"),
    re_path(rf"{CASE}/recommendation/$", RecommendationView.as_view(), name="case-recommendation"),
    re_path(rf"{CASE}/letter/$", LetterView.as_view(), name="case-letter"),
    re_path(rf"{CASE}/documents/(?P<kind>[a-z0-9_]{{1,40}})/$", DocumentView.as_view(), name="case-document"),
    re_path(rf"{CASE}/waiting/$", CaseWaitingView.as_view(), name="case-waiting"),
    path("calendar/status/", CalendarStatusView.as_view(), name="calendar-status"),
    path("calendar/", CalendarView.as_view(), name="calendar"),
    *router.urls,
]
