from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import case_get_or_404
from kameng_api.core.openapi import ID_REGEX, error_response, if_match
from kameng_api.core.pagination import Pagination
from kameng_api.core.permissions import CASE_READERS, CASE_WRITERS, STAFF, SUPERVISORS

from .. import selectors, services
from ..calendar import calendar_status
from ..codes import Channel
from ..documents import DOCX, FORMATS, KINDS, DocumentError, document_render
from ..filters import CalendarDayFilter, DeadlineFilter
from ..letter import LANGS, LetterError, letter_text
from ..models import CalendarDay
from ..recommendation import recommend
from . import examples
from .serializers import (
    CalendarDaySerializer,
    CalendarStatusSerializer,
    CalendarYearResultSerializer,
    CalendarYearSerializer,
    CaseWaitingResultSerializer,
    CaseWaitingSerializer,
    DeadlineExtendSerializer,
    DeadlineSerializer,
    DeadlineSuspendSerializer,
    EscalationAnswerSerializer,
    EscalationCreateSerializer,
    EscalationSerializer,
    PaginatedEscalationSerializer,
    RecommendationSerializer,
)

CLOSED = error_response(409, "The case or the escalation is closed, or If-Match is stale.", "escalation_closed",
                        "This escalation is closed (refused); record a new one instead.")
DEADLINE_CONFLICT = error_response(409, "The deadline is not open, or already (not) suspended.",
                                   "deadline_closed", "This deadline is met, not open.")
IF_MATCH = if_match("escalation")


def _escalations(qs):
    return qs.prefetch_related("deadlines")


@extend_schema(tags=["escalation"])
class CaseEscalationsView(APIView):
    """The ladder of one case: the escalations tried so far, and a new one."""

    roles = {"get": CASE_READERS, "post": CASE_WRITERS}

    @extend_schema(summary="The case's escalations", responses={200: PaginatedEscalationSerializer})
    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        qs = _escalations(selectors.escalation_list(user=request.user, case_id=case.pk))
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EscalationSerializer(page, many=True).data)

    @extend_schema(
        summary="Escalate the case (skipping a rung needs skip_reason; the legal level needs a supervisor)",
        request=EscalationCreateSerializer, examples=[examples.ESCALATE, examples.ESCALATE_SKIP, examples.ESCALATION],
        responses={201: EscalationSerializer, 409: CLOSED},
    )
    def post(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        serializer = EscalationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.escalation_submit(actor=request.user, case=case, **serializer.validated_data)
        escalation = _escalations(selectors.escalation_list(user=request.user)).get(pk=escalation.pk)
        response = Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)
        response["ETag"] = services.escalation_etag(escalation)
        response["Location"] = f"/api/v1/escalations/{escalation.pk}/"
        return response


@extend_schema(tags=["escalation"])
@extend_schema_view(
    retrieve=extend_schema(summary="An escalation", examples=[examples.ESCALATION]),
    partial_update=extend_schema(summary="Record the channel's answer (its deadline is met)",
                                 request=EscalationAnswerSerializer, parameters=[IF_MATCH],
                                 examples=[examples.ANSWER, examples.ESCALATION],
                                 responses={200: EscalationSerializer, 409: CLOSED}),
)
class EscalationViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = EscalationSerializer
    lookup_value_regex = ID_REGEX
    http_method_names = ["get", "patch", "head", "options"]
    roles = {"retrieve": CASE_READERS, "partial_update": CASE_WRITERS}

    def get_queryset(self):
        return _escalations(selectors.escalation_list(user=self.request.user))

    def retrieve(self, request, *args, **kwargs):
        escalation = self.get_object()
        response = Response(EscalationSerializer(escalation).data)
        response["ETag"] = services.escalation_etag(escalation)
        return response

    def partial_update(self, request, *args, **kwargs):
        escalation = self.get_object()
        serializer = EscalationAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.escalation_answer(actor=request.user, escalation=escalation,
                                                if_match=request.headers.get("If-Match"),
                                                **serializer.validated_data)
        escalation = self.get_queryset().get(pk=escalation.pk)
        response = Response(EscalationSerializer(escalation).data)
        response["ETag"] = services.escalation_etag(escalation)
        return response


@extend_schema(tags=["escalation"], summary="The next channel for the case, with its reasons (each cited to a seed)",
               responses={200: RecommendationSerializer}, examples=[examples.RECOMMENDATION])
class RecommendationView(APIView):
    roles = {"get": CASE_READERS}

    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        return Response(RecommendationSerializer(recommend(case)).data)


@extend_schema(tags=["deadlines"],
               summary="The case waits on the consumer (every open deadline stops) or no longer does (they resume)",
               request=CaseWaitingSerializer, responses={200: CaseWaitingResultSerializer, 409: CLOSED})
class CaseWaitingView(APIView):
    roles = {"post": CASE_WRITERS}

    def post(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        serializer = CaseWaitingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.case_waiting_set(actor=request.user, case=case, **serializer.validated_data)
        return Response(CaseWaitingResultSerializer(result).data)


class PlainTextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode("utf-8") if isinstance(data, str) else b""


@extend_schema(
    tags=["escalation"],
    summary="The complaint letter (事实 + 依据 + 诉求) for the recommended or a given channel",
    parameters=[
        OpenApiParameter("lang", str, enum=list(LANGS), description="zh-hans (default) or en."),
        OpenApiParameter("channel", str, enum=list(Channel.values),
                         description="The channel addressed; default: the recommended one."),
    ],
    responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The letter, UTF-8 text.")},
)
@extend_validation_errors(["invalid"], field_name="lang", methods=["get"])
@extend_validation_errors(["invalid"], field_name="channel", methods=["get"])
class LetterView(APIView):
    roles = {"get": CASE_READERS}
    renderer_classes = [PlainTextRenderer, JSONRenderer]

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        lang = request.query_params.get("lang", "zh-hans")
        channel = request.query_params.get("channel") or None
        try:
            text = letter_text(case, lang=lang, channel=channel)
        except LetterError as exc:
            raise ValidationError({exc.field: str(exc)}) from exc
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{case.reference}-{lang}.txt"'
        return response


class DocxRenderer(BaseRenderer):
    media_type = DOCX
    format = "docx"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


@extend_schema(
    tags=["escalation"],
    summary="A document of the case from its template: 投诉书, 民事起诉状, 报案材料 or payment-dispute request",
    parameters=[
        OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS), description="The document."),
        OpenApiParameter("format", str, enum=list(FORMATS), description="txt (default) or docx (Word / WPS)."),
        OpenApiParameter("lang", str, enum=list(LANGS), description="zh-hans (default, the one to send) or en "
                                                                   "(for reference)."),
    ],
    responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The document, UTF-8 text."),
               (200, DOCX): OpenApiResponse(OpenApiTypes.BINARY, description="The document as .docx.")},
)
@extend_validation_errors(["invalid"], field_name="lang", methods=["get"])
@extend_validation_errors(["invalid"], field_name="format", methods=["get"])
@extend_validation_errors(["invalid"], field_name="kind", methods=["get"])
class DocumentView(APIView):
    roles = {"get": CASE_READERS}
    renderer_classes = [PlainTextRenderer, DocxRenderer, JSONRenderer]

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, case_id, kind):
        case = case_get_or_404(user=request.user, case_id=case_id)
        try:
            rendered = document_render(case=case, kind=kind, lang=request.query_params.get("lang", "zh-hans"),
                                       fmt=request.query_params.get("format", "txt"))
        except DocumentError as exc:
            raise ValidationError({exc.field: str(exc)}) from exc
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "attachment" if rendered.content_type == DOCX else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        return response


@extend_schema(tags=["deadlines"])
@extend_schema_view(
    list=extend_schema(summary="Open deadlines of your organization", examples=[examples.DEADLINE]),
    retrieve=extend_schema(summary="A deadline"),
)
class DeadlineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DeadlineSerializer
    filterset_class = DeadlineFilter
    lookup_value_regex = ID_REGEX
    roles = {"list": CASE_READERS, "retrieve": CASE_READERS, "suspend": CASE_WRITERS, "resume": CASE_WRITERS,
             "extend": CASE_WRITERS}

    def get_queryset(self):
        if self.action == "list":
            return selectors.deadline_list(user=self.request.user)
        return selectors.deadline_list(user=self.request.user, open_only=False)

    @extend_schema(summary="Stop the clock while the case waits on the consumer", request=DeadlineSuspendSerializer,
                   responses={200: DeadlineSerializer, 409: DEADLINE_CONFLICT})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        deadline = self.get_object()
        serializer = DeadlineSuspendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deadline = services.deadline_suspend(actor=request.user, deadline=deadline, **serializer.validated_data)
        return Response(DeadlineSerializer(self.get_queryset().get(pk=deadline.pk)).data)

    @extend_schema(summary="Restart the clock (the working days that remained are added back)", request=None,
                   responses={200: DeadlineSerializer, 409: DEADLINE_CONFLICT})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        deadline = services.deadline_resume(actor=request.user, deadline=self.get_object())
        return Response(DeadlineSerializer(self.get_queryset().get(pk=deadline.pk)).data)

    @extend_schema(summary="Extend the deadline, with a reason", request=DeadlineExtendSerializer,
                   examples=[examples.EXTEND], responses={200: DeadlineSerializer, 409: DEADLINE_CONFLICT})
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        deadline = self.get_object()
        serializer = DeadlineExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deadline = services.deadline_extend(actor=request.user, deadline=deadline, **serializer.validated_data)
        return Response(DeadlineSerializer(self.get_queryset().get(pk=deadline.pk)).data)


@extend_schema(tags=["calendar"], summary="Is the holiday schedule of this year and the next entered?",
               responses={200: CalendarStatusSerializer})
class CalendarStatusView(APIView):
    roles = {"get": STAFF}

    def get(self, request):
        return Response(CalendarStatusSerializer(calendar_status(organization_id=request.user.organization_id)).data)


@extend_schema(tags=["calendar"])
@extend_schema_view(get=extend_schema(summary="Calendar overrides"))
@extend_validation_errors(["invalid"], field_name="days", methods=["post"])
class CalendarView(generics.ListAPIView):
    """The overrides of the holiday library; supervisors enter a year's schedule (replacing that year's rows)."""

    roles = {"get": STAFF, "post": SUPERVISORS}
    parser_classes = [JSONParser]
    serializer_class = CalendarDaySerializer
    filterset_class = CalendarDayFilter
    queryset = CalendarDay.objects.all()

    @extend_schema(summary="Enter a year's public holidays and adjusted working days (调休); recounts open deadlines",
                   request=CalendarYearSerializer, examples=[examples.CALENDAR_YEAR],
                   responses={200: CalendarYearResultSerializer})
    def post(self, request):
        serializer = CalendarYearSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.calendar_year_set(actor=request.user, **serializer.validated_data)
        return Response(CalendarYearResultSerializer(result).data)


