from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .views import BundleView, CaseEvidenceView, CompletenessView, EvidenceViewSet, TimelineView, VerifyView

router = SimpleRouter()
router.register("evidence", EvidenceViewSet, basename="evidence")

CASE = r"^cases/(?P<case_id>[0-9]{1,18})"

urlpatterns = [
    re_path(rf"{CASE}/evidence/$", CaseEvidenceView.as_view(), name="case-evidence"),
    re_path(rf"{CASE}/completeness/$", CompletenessView.as_view(), name="case-completeness"),
    re_path(rf"{CASE}/timeline/$", TimelineView.as_view(), name="case-timeline"),
    re_path(rf"{CASE}/verify/$", VerifyView.as_view(), name="case-verify"),
    re_path(rf"{CASE}/bundle/$", BundleView.as_view(), name="case-bundle"),
    *router.urls,
]
