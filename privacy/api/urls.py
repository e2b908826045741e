from django.urls import path

from .views import SubjectCorrectView, SubjectEraseView, SubjectExportView, SubjectLookupView

urlpatterns = [
    path("privacy/lookup/", SubjectLookupView.as_view(), name="privacy-lookup"),
    path("privacy/export/", SubjectExportView.as_view(), name="privacy-export"),
    path("privacy/correct/", SubjectCorrectView.as_view(), name="privacy-correct"),
    path("privacy/erase/", SubjectEraseView.as_view(), name="privacy-erase"),
]
