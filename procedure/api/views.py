"""The organization's procedure over HTTP (API.md: `cases/{id}/acceptance/`, `cases/{id}/mediation/`,
`cases/{id}/documents/`). Thin: parse, call one service or selector, render."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import case_get_or_404
from escalation.documents import KINDS as LETTER_KINDS
from kameng_api.core.access import roles_for
from kameng_api.core.exceptions import Conflict
from kameng_api.core.idempotency import idempotent
from kameng_api.core.openapi import IDEMPOTENCY_KEY, error_response, if_match
from kameng_api.core.preconditions import MethodAllowed
from stats.api.permissions import CanReadStats

from .. import selectors, services
from ..documents import FORMATS, LANGS, document_render
from ..models import MediationSession, Procedure
from . import examples
from .serializers import (
    AcceptanceDecisionSerializer,
    AgreementSerializer,
    DocumentListSerializer,
    MediationSerializer,
    PauseWriteSerializer,
    PerformanceSerializer,
    ProcedureSerializer,
    PublicInterestFileSerializer,
    ResumeSerializer,
    ReviewSerializer,
    SessionPatchSerializer,
    SessionSerializer,
    SessionWriteSerializer,
    StatsSerializer,
    SupportSerializer,
    SupportStateSerializer,
    TerminationSerializer,
    VictimSerializer,
)

READ = roles_for("procedure.read")
RECORD = roles_for("procedure.record")
APPROVE = roles_for("procedure.approve")
PUBLIC_INTEREST = roles_for("public_interest.manage")
CONFLICT = error_response(409, "Not possible at this stage of the procedure, the organization runs no procedure, "
                               "or If-Match is stale.", "wrong_stage",
                          "Not possible at this stage of the procedure (Accepted: mediation).")
IF_MATCH = if_match("procedure")


def _procedure_response(proc, *, serializer=ProcedureSerializer, code=status.HTTP_200_OK, location=None):
    proc = selectors.procedure_of(case=proc.case)
    response = Response(serializer(proc).data, status=code)
    response["ETag"] = proc.etag
    if location:
        response["Location"] = location
    return response


def _procedure(request, case_id):
    case = case_get_or_404(user=request.user, case_id=case_id)
    proc = selectors.procedure_of(case=case)
    if proc is None:
        proc = services.procedure_open(case=case)
    if proc is None:
        raise Conflict(_("This organization runs no complaint procedure of its own: set its type to consumer "
                         "association or 12315 complaint centre."), code="no_procedure")
    return case, proc


def _if_match(request):
    return request.headers.get("If-Match")


@extend_schema(tags=["procedure"])
class AcceptanceView(APIView):
    """受理: the acceptance decision and its clock."""

    roles = {"get": READ, "post": RECORD}

    @extend_schema(summary="The procedure: stage, acceptance clock and decision", responses={200: ProcedureSerializer,
                   409: CONFLICT}, examples=[examples.PROCEDURE])
    def get(self, request, case_id):
        _case, proc = _procedure(request, case_id)
        return _procedure_response(proc)

    @extend_schema(summary="Decide: accept, refuse (with a ground; a handler's refusal waits for a supervisor) or "
                           "forward to the competent body", request=AcceptanceDecisionSerializer,
                   parameters=[IF_MATCH, IDEMPOTENCY_KEY], responses={200: ProcedureSerializer, 409: CONFLICT},
                   examples=[examples.ACCEPT, examples.REFUSE, examples.FORWARD, examples.PROCEDURE])
    @idempotent
    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        serializer = AcceptanceDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proc = services.acceptance_decide(actor=request.user, case=case, if_match=_if_match(request),
                                          **serializer.validated_data)
        return _procedure_response(proc)


@extend_schema(tags=["procedure"], summary="A supervisor approves a proposed refusal (its notice is issued) or "
                                           "sends it back", request=ReviewSerializer,
               parameters=[IF_MATCH], responses={200: ProcedureSerializer, 409: CONFLICT})
class AcceptanceReviewView(APIView):
    roles = {"post": APPROVE}

    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proc = services.refusal_review(actor=request.user, case=case, if_match=_if_match(request),
                                       **serializer.validated_data)
        return _procedure_response(proc)


@extend_schema(tags=["procedure"])
class MediationView(APIView):
    """调解: the sessions, the clock, the outcome."""

    roles = {"get": READ, "post": RECORD}

    @extend_schema(summary="Mediation: sessions, clock and outcome", responses={200: MediationSerializer,
                   409: CONFLICT})
    def get(self, request, case_id):
        _case, proc = _procedure(request, case_id)
        return _procedure_response(proc, serializer=MediationSerializer)

    @extend_schema(summary="Record a mediation session (participants, each side's proposal, outcome)",
                   request=SessionWriteSerializer, parameters=[IF_MATCH, IDEMPOTENCY_KEY],
                   responses={201: SessionSerializer, 409: CONFLICT}, examples=[examples.SESSION])
    @idempotent
    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        serializer = SessionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_record(actor=request.user, case=case, data=serializer.validated_data,
                                          if_match=_if_match(request))
        response = Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)
        response["ETag"] = session.etag
        response["Location"] = f"/api/v1/cases/{case.pk}/mediation/sessions/{session.pk}/"
        return response


@extend_schema(tags=["procedure"])
class SessionView(APIView):
    roles = {"get": READ, "patch": RECORD}

    def _session(self, request, case_id, session_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        session = MediationSession.objects.filter(procedure__case=case, pk=session_id).first()
        if session is None:
            raise NotFound()
        return session

    @extend_schema(summary="A mediation session", responses={200: SessionSerializer})
    def get(self, request, case_id, session_id):
        session = self._session(request, case_id, session_id)
        response = Response(SessionSerializer(session).data)
        response["ETag"] = session.etag
        return response

    @extend_schema(summary="Correct a mediation session (while mediation runs)", request=SessionPatchSerializer,
                   parameters=[if_match("session", required=True)], responses={200: SessionSerializer,
                                                                              409: CONFLICT})
    def patch(self, request, case_id, session_id):
        session = self._session(request, case_id, session_id)
        serializer = SessionPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_update(actor=request.user, session=session, data=dict(serializer.validated_data),
                                          if_match=_if_match(request))
        response = Response(SessionSerializer(session).data)
        response["ETag"] = session.etag
        return response


class _Step(APIView):
    roles = {"post": RECORD}
    serializer_class: type[serializers.Serializer]
    service: Callable[..., Procedure]

    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        proc = type(self).service(actor=request.user, case=case, if_match=_if_match(request),
                                  **serializer.validated_data)
        return _procedure_response(proc, serializer=MediationSerializer)


def _step(summary, serializer, example=None):
    return extend_schema(tags=["procedure"], summary=summary, request=serializer, parameters=[IF_MATCH],
                         responses={200: MediationSerializer, 409: CONFLICT},
                         examples=[example] if example else None)


@_step("Stop the running clock while waiting on a party", PauseWriteSerializer, examples.PAUSE)
class PauseView(_Step):
    serializer_class = PauseWriteSerializer
    service = staticmethod(services.clock_pause)


@_step("Restart the clock (the working days of the pause are given back)", ResumeSerializer)
class ResumeView(_Step):
    serializer_class = ResumeSerializer
    service = staticmethod(services.clock_resume)


@_step("Record the mediation agreement (调解协议书 issued; its payment day is watched)", AgreementSerializer,
       examples.AGREEMENT)
class AgreementView(_Step):
    serializer_class = AgreementSerializer
    service = staticmethod(services.agreement_record)


@_step("Record that the agreement was performed", PerformanceSerializer)
class PerformanceView(_Step):
    serializer_class = PerformanceSerializer
    service = staticmethod(services.performance_record)


@_step("Terminate mediation with its reason (终止调解告知书 issued, with the consumer's next options)",
       TerminationSerializer, examples.TERMINATE)
class TerminationView(_Step):
    serializer_class = TerminationSerializer
    service = staticmethod(services.mediation_terminate)


@extend_schema(tags=["procedure"])
class SupportView(APIView):
    """支持起诉 (消费者权益保护法 art. 37(1)(7)): after a terminated mediation, consumer associations only."""

    roles = {"get": READ, "post": RECORD}

    @extend_schema(summary="Support to sue, if recorded", responses={200: SupportStateSerializer, 409: CONFLICT})
    def get(self, request, case_id):
        _case, proc = _procedure(request, case_id)
        return Response(SupportStateSerializer({"support": getattr(proc, "support", None)}).data)

    @extend_schema(summary="Propose (handler) or record (supervisor: issued at once) support to sue",
                   request=SupportSerializer, parameters=[IF_MATCH],
                   responses={201: SupportSerializer, 409: CONFLICT}, examples=[examples.SUPPORT])
    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        serializer = SupportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        support = services.support_propose(actor=request.user, case=case, if_match=_if_match(request),
                                           **serializer.validated_data)
        return Response(SupportSerializer(support).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procedure"], summary="A supervisor approves the proposed support to sue (意见书 issued)",
               request=None, responses={200: SupportSerializer, 409: CONFLICT})
class SupportApproveView(APIView):
    roles = {"post": APPROVE}

    def post(self, request, case_id):
        case, _proc = _procedure(request, case_id)
        return Response(SupportSerializer(services.support_approve(actor=request.user, case=case)).data)


@extend_schema(tags=["procedure"])
class DocumentsView(APIView):
    roles = {"get": READ}

    @extend_schema(operation_id="cases_documents_list", responses={200: DocumentListSerializer},
                   summary="Every document of the case: those issued (numbered, fixed text) and the letters made on "
                           "demand")
    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        generated = {kind: f"/api/v1/cases/{case.pk}/documents/{kind}/" for kind in LETTER_KINDS}
        return Response(DocumentListSerializer({"issued": selectors.document_list(case=case),
                                                "generated": generated}).data)


@extend_schema(
    tags=["procedure"], summary="An issued document, as text or .docx, in Chinese or the English reference version",
    parameters=[OpenApiParameter("lang", str, enum=list(LANGS), description="zh-hans (default) or en."),
                OpenApiParameter("format", str, enum=list(FORMATS), description="txt (default) or docx.")],
    responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR),
               (200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"):
                   OpenApiResponse(OpenApiTypes.BINARY)},
)
class IssuedDocumentView(APIView):
    roles = {"get": READ}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, case_id, document_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        document = selectors.document_get(case=case, document_id=document_id)
        if document is None:
            raise NotFound()
        lang = request.query_params.get("lang", "zh-hans")
        fmt = request.query_params.get("format", "txt")
        if lang not in LANGS:
            raise ValidationError({"lang": _("Unknown language: use zh-hans or en.")})
        if fmt not in FORMATS:
            raise ValidationError({"format": _("Unknown format: use txt or docx.")})
        rendered = document_render(document=document, lang=lang, fmt=fmt)
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "attachment" if fmt == "docx" else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        return response


@extend_schema(tags=["procedure"])
class PublicInterestListView(APIView):
    """公益诉讼 files (消费者权益保护法 art. 47): provincial-level consumer associations and above."""

    roles = {"get": PUBLIC_INTEREST, "post": PUBLIC_INTEREST}

    @extend_schema(summary="The organization's public-interest files",
                   responses={200: PublicInterestFileSerializer(many=True)})
    def get(self, request):
        return Response(PublicInterestFileSerializer(selectors.public_interest_list(user=request.user),
                                                     many=True).data)

    @extend_schema(summary="Open a public-interest file (art. 47: provincial level and above)",
                   request=PublicInterestFileSerializer, responses={201: PublicInterestFileSerializer, 409: CONFLICT},
                   examples=[examples.PUBLIC_INTEREST])
    def post(self, request):
        serializer = PublicInterestFileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = services.public_interest_open(actor=request.user, **serializer.validated_data)
        file = selectors.public_interest_list(user=request.user).get(pk=file.pk)
        return Response(PublicInterestFileSerializer(file).data, status=status.HTTP_201_CREATED)


def _file(request, file_id):
    file = selectors.public_interest_list(user=request.user).filter(pk=file_id).first()
    if file is None:
        raise NotFound()
    return file


@extend_schema(tags=["procedure"], summary="A public-interest file with its victims",
               responses={200: PublicInterestFileSerializer})
class PublicInterestDetailView(APIView):
    roles = {"get": PUBLIC_INTEREST}

    def get(self, request, file_id):
        return Response(PublicInterestFileSerializer(_file(request, file_id)).data)


@extend_schema(tags=["procedure"], summary="Add a victim: a case of the organization (its consumer and amount "
                                           "paid) or a named person with the loss",
               request=VictimSerializer, responses={201: VictimSerializer, 409: CONFLICT})
class VictimsView(APIView):
    roles = {"post": PUBLIC_INTEREST}

    def post(self, request, file_id):
        file = _file(request, file_id)
        serializer = VictimSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        case = None
        if data.get("case_id") is not None:
            case = case_get_or_404(user=request.user, case_id=data["case_id"])
        victim = services.victim_add(actor=request.user, file=file, case=case, name=data.get("name", ""),
                                     loss=data.get("loss"), note=data.get("note", ""))
        return Response(VictimSerializer(victim).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procedure"], summary="The organization's own figures: accepted vs refused by ground, "
                                           "agreements, terminations, performance on time, median days",
               parameters=[OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE)],
               responses={200: StatsSerializer}, examples=[examples.STATS])
class StatsView(APIView):
    permission_classes = [MethodAllowed, CanReadStats]

    def get(self, request):
        from rest_framework import serializers as drf

        class Period(drf.Serializer):
            date_from = drf.DateField(required=False)
            date_to = drf.DateField(required=False)

        period = Period(data={k2: request.query_params[k1] for k1, k2 in (("from", "date_from"), ("to", "date_to"))
                              if k1 in request.query_params})
        period.is_valid(raise_exception=True)
        data = selectors.procedure_stats(organization_id=request.user.organization_id, **period.validated_data)
        return Response(StatsSerializer(data).data)
