from django.urls import re_path

from .views import (
    AcceptanceReviewView,
    AcceptanceView,
    AgreementView,
    DocumentsView,
    IssuedDocumentView,
    MediationView,
    PauseView,
    PerformanceView,
    PublicInterestDetailView,
    PublicInterestListView,
    ResumeView,
    SessionView,
    StatsView,
    SupportApproveView,
    SupportView,
    TerminationView,
    VictimsView,
)

CASE = r"^cases/(?P<case_id>[0-9]{1,18})"
ID = r"[0-9]{1,18}"

urlpatterns = [
    re_path(rf"{CASE}/acceptance/$", AcceptanceView.as_view(), name="case-acceptance"),
    re_path(rf"{CASE}/acceptance/review/$", AcceptanceReviewView.as_view(), name="case-acceptance-review"),
    re_path(rf"{CASE}/mediation/$", MediationView.as_view(), name="case-mediation"),
    re_path(rf"{CASE}/mediation/sessions/(?P<session_id>{ID})/$", SessionView.as_view(),
            name="case-mediation-session"),
    re_path(rf"{CASE}/mediation/pause/$", PauseView.as_view(), name="case-mediation-pause"),
    re_path(rf"{CASE}/mediation/resume/$", ResumeView.as_view(), name="case-mediation-resume"),
    re_path(rf"{CASE}/mediation/agreement/$", AgreementView.as_view(), name="case-mediation-agreement"),
    re_path(rf"{CASE}/mediation/performance/$", PerformanceView.as_view(), name="case-mediation-performance"),
    re_path(rf"{CASE}/mediation/termination/$", TerminationView.as_view(), name="case-mediation-termination"),
    re_path(rf"{CASE}/lawsuit-support/$", SupportView.as_view(), name="case-lawsuit-support"),
    re_path(rf"{CASE}/lawsuit-support/approve/$", SupportApproveView.as_view(), name="case-lawsuit-support-approve"),
    re_path(rf"{CASE}/documents/$", DocumentsView.as_view(), name="case-documents"),
    re_path(rf"{CASE}/documents/issued/(?P<document_id>{ID})/$", IssuedDocumentView.as_view(),
            name="case-document-issued"),
    re_path(r"^public-interest/$", PublicInterestListView.as_view(), name="public-interest-list"),
    re_path(rf"^public-interest/(?P<file_id>{ID})/$", PublicInterestDetailView.as_view(),
            name="public-interest-detail"),
    re_path(rf"^public-interest/(?P<file_id>{ID})/victims/$", VictimsView.as_view(), name="public-interest-victims"),
    re_path(r"^procedure/stats/$", StatsView.as_view(), name="procedure-stats"),
]
