from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import case_get_or_404, case_id_or_404
from kameng_api.core.audit import audit_record
from kameng_api.core.idempotency import idempotent
from kameng_api.core.languages import DOCUMENT_LANGS as LANGS
from kameng_api.core.openapi import ID_REGEX, IDEMPOTENCY_KEY, error_response
from kameng_api.core.permissions import CASE_CREATORS, CASE_READERS, CASE_WRITERS
from kameng_api.core.security import DeepVerifyThrottle

from .. import bundle, filetypes, selectors, services
from ..completeness import completeness
from ..models import Evidence
from ..storage import open_stored
from ..timeline import timeline
from ..uploads import EvidenceUploadHandler, HashedUpload, multiple_files
from . import examples
from .serializers import (
    CompletenessSerializer,
    EvidenceSerializer,
    EvidenceUploadSerializer,
    TimelineSerializer,
    VerifySerializer,
    WithdrawSerializer,
)

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the other form fields around the file
DEEP_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}
DUPLICATE = error_response(409, "The same file is already evidence of this case, the item to supersede is not "
                                "active, or the case is closed.", "duplicate_evidence",
                           "The same file is already evidence #12 of this case (SHA-256 9f86d0…).")
TOO_LARGE = error_response(413, "The file is over the size limit (EVIDENCE_MAX_UPLOAD_BYTES).", "file_too_large",
                           "The file is larger than the limit of 2048.0 MB (2147483648 bytes).")
UNSUPPORTED = error_response(415, "The file's type, judged from its bytes, is not allowed for this kind.",
                             "file_type_not_allowed",
                             "This file is application/zip (judged from its content, not its name); "
                             "error_screenshot evidence may be: application/pdf, image/jpeg, image/png, video/mp4.")
NOT_ACTIVE = error_response(409, "Already withdrawn or superseded, or the case is closed.", "evidence_not_active",
                            "Evidence #12 is already withdrawn.")


class BinaryRenderer(BaseRenderer):
    """Lets clients ask for the file's own type (Accept: image/png, application/zip); the body is the file."""

    media_type = "*/*"
    format = "binary"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data, "application/json", renderer_context)


def _refuse_over_quota(request, case) -> None:
    """Before a byte is stored: the declared size would pass the case's quota (the service checks the real
    size again under the case lock)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    declared -= MULTIPART_OVERHEAD
    used = selectors.case_evidence_bytes(case)
    if declared > 0 and used + declared > services.case_quota_bytes():
        raise services.quota_exceeded(used, declared)


@extend_schema(tags=["evidence"])
class CaseEvidenceView(GenericAPIView):
    """A case's evidence: list it, or upload a file (streamed to storage, hashed on the way)."""

    serializer_class = EvidenceSerializer
    queryset = Evidence.objects.none()  # for the schema; reads go through the selectors
    parser_classes = [MultiPartParser]
    roles = {"get": CASE_READERS, "post": CASE_CREATORS}
    upload_handler = None

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            self.upload_handler = EvidenceUploadHandler(request)
            try:
                request.upload_handlers = [self.upload_handler]
            except AttributeError:  # the body was already read by something else
                self.upload_handler = None
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.upload_handler is not None:
                self.upload_handler.cleanup()

    @extend_schema(summary="List a case's evidence (every status, in chain order)",
                   responses={200: EvidenceSerializer(many=True)})
    def get(self, request, case_id):
        visible = case_id_or_404(user=request.user, case_id=case_id)
        page = self.paginate_queryset(selectors.evidence_list(user=request.user, case=visible, listing=True))
        return self.get_paginated_response(EvidenceSerializer(page, many=True).data)

    @extend_schema(
        summary="Upload evidence (multipart: file, kind, occurred_at, description; supersedes + reason to replace)",
        request={"multipart/form-data": EvidenceUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[examples.UPLOAD, examples.SUPERSEDE, examples.EVIDENCE],
        responses={201: EvidenceSerializer, 409: DUPLICATE, 413: TOO_LARGE, 415: UNSUPPORTED},
    )
    @idempotent
    def post(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        _refuse_over_quota(request, case)
        if hasattr(request.data, "getlist") and len(request.data.getlist("file")) > 1:
            raise multiple_files()
        serializer = EvidenceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        if not isinstance(upload, HashedUpload):
            return Response({"type": "validation_error", "errors": [
                {"code": "invalid", "detail": _("Send the file as multipart/form-data."), "attr": "file"}]},
                status=status.HTTP_400_BAD_REQUEST)
        evidence = services.evidence_add(
            actor=request.user, case=case, upload=upload, kind=data["kind"], occurred_at=data["occurred_at"],
            description=data.get("description", ""), supersedes_id=data.get("supersedes"),
            reason=data.get("reason", ""),
        )
        evidence = selectors.evidence_get(user=request.user, evidence_id=evidence.pk)
        response = Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/evidence/{evidence.pk}/"
        return response


@extend_schema(tags=["evidence"])
class EvidenceViewSet(viewsets.GenericViewSet):
    serializer_class = EvidenceSerializer
    lookup_value_regex = ID_REGEX
    roles = {"retrieve": CASE_READERS, "download": CASE_READERS, "timestamp": CASE_READERS, "withdraw": CASE_WRITERS}

    def get_queryset(self):
        return selectors.evidence_list(user=self.request.user)

    def get_object(self):
        try:
            return selectors.evidence_get(user=self.request.user, evidence_id=self.kwargs["pk"])
        except Evidence.DoesNotExist:
            raise Http404 from None

    @extend_schema(summary="One evidence item", responses={200: EvidenceSerializer}, examples=[examples.EVIDENCE])
    def retrieve(self, request, pk=None):
        return Response(EvidenceSerializer(self.get_object()).data)

    @extend_schema(
        summary="Download the file (always as an attachment, never rendered by the browser)",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description=(
                "The file, Content-Disposition: attachment, X-Content-Type-Options: nosniff, with its own "
                "sniffed type (image/png, application/pdf...); HTML is sent as application/octet-stream.")),
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, BinaryRenderer])
    def download(self, request, pk=None):
        evidence = self.get_object()
        try:
            handle = open_stored(evidence.file.name)
        except FileNotFoundError:
            raise Http404 from None
        audit_record(actor=request.user, action="evidence_download", obj=evidence, request=request,
                     detail={"case": evidence.case.reference})
        base = filetypes.base_type(evidence.content_type)
        content_type = filetypes.DOWNLOAD_TYPE.get(base, evidence.content_type)
        response = FileResponse(handle, as_attachment=True, filename=evidence.original_name,
                                content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        response["X-Evidence-SHA256"] = evidence.sha256
        response["Content-Length"] = str(evidence.size)
        return response

    @extend_schema(
        summary="The file's RFC 3161 timestamp token (.tsr), once stamped",
        description="Check it with `openssl ts -verify -in <token>.tsr -data <file> -CAfile <TSA root>`. "
                    "404 while the token is pending, failed, or no TSA is configured (see `timestamp.status`).",
        responses={(200, "application/timestamp-reply"): OpenApiResponse(OpenApiTypes.BINARY,
                                                                           description="The DER TimeStampResp.")},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, BinaryRenderer])
    def timestamp(self, request, pk=None):
        evidence = self.get_object()
        stamp = selectors.item_timestamp(evidence)
        if stamp is None or stamp.status != "stamped":
            raise NotFound(_("This item has no timestamp token yet (%(status)s).")
                           % {"status": selectors.timestamp_status(stamp)["label"]})
        token = bytes(type(stamp).objects.get(pk=stamp.pk).token)
        response = HttpResponse(token, content_type="application/timestamp-reply")
        response["Content-Disposition"] = f'attachment; filename="evidence-{evidence.pk}.tsr"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(summary="Withdraw an item with a reason (handlers and supervisors)", request=WithdrawSerializer,
                   responses={200: EvidenceSerializer, 409: NOT_ACTIVE}, examples=[examples.WITHDRAW])
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        evidence = self.get_object()
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.evidence_withdraw(actor=request.user, evidence=evidence, reason=serializer.validated_data["reason"])
        return Response(EvidenceSerializer(self.get_object()).data)


class CaseReadView(APIView):
    roles = {"get": CASE_READERS}


@extend_schema(tags=["evidence"])
class CompletenessView(CaseReadView):
    @extend_schema(summary="What evidence is still missing for this dispute type, with a score",
                   responses={200: CompletenessSerializer}, examples=[examples.COMPLETENESS])
    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        kinds = set(Evidence.objects.filter(case=case, status="active").values_list("kind", flat=True))
        return Response(CompletenessSerializer(completeness(case.dispute_type, kinds, case=case)).data)


@extend_schema(tags=["evidence"])
class TimelineView(CaseReadView):
    @extend_schema(summary="Facts, evidence and case events ordered by occurred_at, with the gaps that matter",
                   responses={200: TimelineSerializer}, examples=[examples.TIMELINE])
    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        evidence = list(Evidence.objects.filter(case=case))
        events = list(case.events.all())
        return Response(TimelineSerializer(timeline(case, evidence, events)).data)


@extend_schema(tags=["evidence"])
class VerifyView(CaseReadView):
    """The chain is recomputed on every call (rows only: cheap); the stored files are re-hashed in the
    background, at most one check per case at a time, and reported with when they were last checked."""

    def get_throttles(self):
        return [*super().get_throttles(), DeepVerifyThrottle()]

    @extend_schema(
        summary="Recompute the case's hash chain and re-check its trusted timestamps; report the last "
                "background re-hash of its files",
        parameters=[OpenApiParameter("deep", OpenApiTypes.BOOL, required=False,
                                     description="true: queue a new re-hash of every stored file (202). "
                                                 "A check already queued or running is joined, not repeated.")],
        responses={200: VerifySerializer, 202: VerifySerializer}, examples=[examples.VERIFY_BROKEN],
    )
    def get(self, request, case_id):
        deep = request.query_params.get("deep", "false").strip().lower()
        if deep not in DEEP_VALUES:
            raise ValidationError({"deep": _("Use true or false.")})
        case = case_get_or_404(user=request.user, case_id=case_id)
        queued = DEEP_VALUES[deep]
        if queued:
            services.file_check_request(actor=request.user, case=case)
        return Response(VerifySerializer(selectors.verify_answer(case)).data,
                        status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)


@extend_schema(tags=["evidence"])
class BundleView(CaseReadView):
    renderer_classes = [JSONRenderer, BinaryRenderer]

    @extend_schema(
        summary="The case bundle: one ZIP (manifest.json, files, timeline, letter, RFC 3161 tokens and the TSA "
                "certificates), streamed",
        parameters=[OpenApiParameter("lang", str, enum=["zh-hans", "en"], required=False,
                                     description="Language of the letter (default: the request's).")],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY,
                                                      description="Check it with manage.py verify_bundle."),
            # The same bytes for clients that only know generic binary answers (Accept: application/octet-stream).
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request, case_id):
        case = case_get_or_404(user=request.user, case_id=case_id)
        lang = request.query_params.get("lang")
        if lang is not None and lang not in LANGS:
            raise ValidationError({"lang": [ErrorDetail(_("Unknown language %(lang)r: use one of %(langs)s.")
                                                        % {"lang": lang[:20], "langs": ", ".join(LANGS)},
                                                        code="invalid")]})
        lang = lang or translation.get_language() or "zh-hans"
        lang = "en" if lang.startswith("en") else "zh-hans"
        parts = selectors.bundle_contents(case, lang)
        audit_record(actor=request.user, action="bundle_download", obj=case, request=request,
                     detail={"case": case.reference})
        accept = request.headers.get("Accept", "")
        generic = "application/octet-stream" in accept and "application/zip" not in accept
        response = StreamingHttpResponse(
            bundle.stream(**parts),
            content_type="application/octet-stream" if generic else "application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="{case.reference}-bundle.zip"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
