"""The person's rights (PIPL arts. 44-47) and the exact lookup of a person's cases, all by POST: the phone
or ID number travels in the body, never in a URL an access log keeps."""

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case
from kameng_api.core.access import roles_for
from kameng_api.core.audit import audit_record

from .. import services
from .serializers import CorrectionSerializer, SubjectCasesSerializer, SubjectSerializer

RIGHTS = roles_for("privacy.rights")


def _subject(request, serializer_class=SubjectSerializer) -> tuple[dict, list]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    consumers = services.subject_consumers(actor=request.user, phone=data.get("phone", ""),
                                           id_number=data.get("id_number", ""))
    return data, consumers


def _cases_answer(user, consumers) -> dict:
    """The cases of these records the user may see, and how many records they are (a partner key counts only
    the cases it filed, so it learns nothing of the others)."""
    cases = list(Case.objects.for_user(user).filter(consumer__in=consumers).order_by("-created_at")
                 .values("id", "reference", "status", "created_at", "closed_at", "consumer_id"))
    records = len({c.pop("consumer_id") for c in cases})
    return {"records": records, "cases": cases}


@extend_schema(tags=["privacy"])
class SubjectLookupView(APIView):
    """The cases of one person, found exactly by phone or ID number (blind index; audit-logged without the
    term)."""

    roles = {"post": roles_for("consumer.read")}

    @extend_schema(request=SubjectSerializer, responses={200: SubjectCasesSerializer})
    def post(self, request):
        data, consumers = _subject(request)
        audit_record(actor=request.user, action="pii_search", obj=request.user.organization, request=request,
                     detail={"by": sorted(k for k in ("phone", "id_number") if data.get(k)),
                             "found": len(consumers)})
        return Response(_cases_answer(request.user, consumers))


@extend_schema(tags=["privacy"])
class SubjectExportView(APIView):
    """Everything held about a person, as a ZIP (PIPL art. 45): their data, cases, evidence lists, letters
    and who read their data. Supervisors only; audited."""

    roles = {"post": RIGHTS}

    @extend_schema(request=SubjectSerializer,
                   responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)})
    def post(self, request):
        _data, consumers = _subject(request)
        if not consumers:
            raise Http404
        content, _cases = services.subject_export(actor=request.user, consumers=consumers, request=request)
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = (f'attachment; filename="personal-data-'
                                           f'{timezone.localdate():%Y%m%d}.zip"')
        return response


@extend_schema(tags=["privacy"])
class SubjectCorrectView(APIView):
    """Correct a person's data in every record of the organization (PIPL art. 46). Supervisors only."""

    roles = {"post": RIGHTS}

    @extend_schema(request=CorrectionSerializer, responses={200: SubjectCasesSerializer})
    def post(self, request):
        data, consumers = _subject(request, CorrectionSerializer)
        if not consumers:
            raise Http404
        answer = _cases_answer(request.user, consumers)
        services.subject_correct(actor=request.user, consumers=consumers, data=data["set"], request=request)
        return Response(answer)


@extend_schema(tags=["privacy"])
class SubjectEraseView(APIView):
    """Erase a person's data (PIPL art. 47) unless an open case still needs it (409 `legal_hold`). The cases
    stay, with the consumer shown as 张*; statistics do not change. Supervisors only; audited."""

    roles = {"post": RIGHTS}

    @extend_schema(request=SubjectSerializer, responses={200: SubjectCasesSerializer})
    def post(self, request):
        _data, consumers = _subject(request)
        if not consumers:
            raise Http404
        answer = _cases_answer(request.user, consumers)
        services.subject_erase(actor=request.user, consumers=consumers, request=request)
        return Response(answer)
