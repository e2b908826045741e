
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from cases.codes import DisputeType, ProductType
from cases.models import Platform
from kameng_api.core.access import roles_for
from kameng_api.core.actors import Actor
from kameng_api.core.openapi import AutoSchema, error_response
from kameng_api.core.preconditions import MethodAllowed
from kameng_api.core.replica import replica_reads

from .. import answers, exports, groups, reports, rules, selectors
from ..models import MassIncident, QuarterlyReport
from . import examples
from .permissions import CanReadStats
from .renderers import CSVRenderer, DOCXRenderer, XLSXRenderer
from .serializers import (
    ExportQuerySerializer,
    MassIncidentSerializer,
    PlatformStatsSerializer,
    PreparedReportSerializer,
    ReportQuerySerializer,
    TrendQuerySerializer,
    TrendSerializer,
)

PERIOD_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD, local date of opening). Default: `to` − 364 days."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD). Default: today."),
    OpenApiParameter("product_type", str, enum=ProductType.values),
    OpenApiParameter("dispute_type", str, enum=DisputeType.values),
]
FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv", "xlsx"],
    description="`csv` (or `Accept: text/csv`): every row in one UTF-8 CSV with a BOM, not paginated. "
                "`xlsx` (or the XLSX `Accept` type): the same rows as an Excel workbook — numbers as numbers, "
                "rates as percentages beside their counts, withheld figures as the text 样本不足 (n=…). "
                "Both files have a fixed column layout: every status, dispute type and product type in the "
                "order of the code's enums, whatever occurred in the period.")
EXPORT_PARAMETERS = [
    OpenApiParameter("lang", str, enum=["zh", "en"],
                     description="CSV/XLSX headers and texts in Chinese (default) or English."),
    OpenApiParameter("headers", str, enum=["labels", "codes"],
                     description="CSV/XLSX headers: human labels (default) or the JSON's dotted keys "
                                 "(`by_status.collecting_evidence`, rates as fractions with "
                                 "`withheld_reason`) for scripts."),
]
# Every answer of stats/platforms/ and …/trend/ says whether it was kept since the last refresh (stats/answers.py).
ANSWER_HEADER = OpenApiParameter(
    "X-Stats-Answer", str, OpenApiParameter.HEADER, response=True, enum=["kept", "computed"],
    description="`kept`: the answer computed earlier for the same question since the last refresh of the "
                "figures (a refresh, a rebuild or a platform or merchant change starts afresh); `computed`: "
                "computed for this request. Absent when the deployment keeps no answers (no shared cache).")
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiTypes.BINARY,
    (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
}


def _filters(request, data: dict) -> selectors.StatsFilter:
    national = rules.scope() == "national"
    return selectors.StatsFilter(
        date_from=data["from"], date_to=data["to"], product_type=data.get("product_type"),
        dispute_type=data.get("dispute_type"), organization_id=None if national else request.user.organization_id,
    )


def kept_or_computed(view, request, filters: selectors.StatsFilter, compute) -> HttpResponse:
    """The answer kept for this question and generation (stats/answers.py), else computed and kept."""
    if not answers.enabled():
        return compute()
    key = answers.key_for(request, filters=filters, scope=rules.scope(), min_sample=rules.min_sample())
    return answers.kept(key) or answers.keep(key, view, request, compute())


class StatsSchema(AutoSchema):
    """The query parameters are validated by a serializer: document the 400 validation errors too."""

    def _should_add_validation_error_response(self) -> bool:
        return True


class StatsBase(GenericAPIView):
    schema = StatsSchema()
    permission_classes = [MethodAllowed, CanReadStats]
    renderer_classes = [JSONRenderer, CSVRenderer, XLSXRenderer]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # ?format=pdf: a bad parameter, not a missing page
            if force:
                raise
            raise exceptions.ValidationError({"format": [_("Unknown format. Allowed: %(formats)s.") % {
                "formats": ", ".join(r.format for r in self.renderer_classes)}]}) from None

    def finalize_response(self, request, response, *args, **kwargs):
        """Errors on a binary format are answered in the JSON error format (a spreadsheet cannot hold them)."""
        if response.status_code >= 400 and not isinstance(getattr(request, "accepted_renderer", None),
                                                          (JSONRenderer, CSVRenderer)):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def file_format(self) -> str:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", "json") if isinstance(renderer, (CSVRenderer, XLSXRenderer)) else "json"

    def wants_csv(self) -> bool:
        return self.file_format() != "json"

    def table_response(self, rows: list[dict], cols: list, options: dict, *, filename: str, title: str,
                       notes: list[str]) -> Response:
        """The rows as a CSV or XLSX file with the fixed column layout of stats/exports.py."""
        headers, lang = options["headers"], options["lang"]
        if headers == "codes":
            cols = exports.codes_columns(cols)
        if self.file_format() == "xlsx":
            data = exports.xlsx_bytes(rows, cols, headers=headers, lang=lang, title=title, notes=notes)
            response = Response({"file_bytes": data})
        else:
            response = Response({"csv_bytes": exports.csv_bytes(rows, cols, headers=headers, lang=lang)})
        response["Content-Disposition"] = f'attachment; filename="{filename}.{self.file_format()}"'
        return response


def period_notes(filters: selectors.StatsFilter, lang: str) -> tuple[str, list[str]]:
    with override(exports.LANGUAGES[lang]):
        notes = [_("Period: %(from)s to %(to)s (complaints opened in the period, by local date).") % {
                     "from": filters.date_from, "to": filters.date_to},
                 _("Scope: %(scope)s.") % {"scope": _("national") if rules.scope() == "national"
                                           else _("this organization")},
                 _("Rates are withheld below %(n)d cases (shown as the sample size).") % {"n": rules.min_sample()}]
        if filters.product_type:
            notes.append(_("Product type: %(t)s") % {"t": ProductType(filters.product_type).label})
        if filters.dispute_type:
            notes.append(_("Dispute type: %(t)s") % {"t": DisputeType(filters.dispute_type).label})
        return str(_("Complaint statistics per platform")), notes


@extend_schema(tags=["stats"])
class PlatformStatsView(StatsBase):
    """Per-platform complaint statistics over a period (analysts, supervisors, partner keys with
    `can_read_stats`). Rates come with their counts and are withheld below the minimum sample."""

    queryset = Platform.objects.none()

    @extend_schema(
        summary="Complaint statistics per platform",
        parameters=[*PERIOD_PARAMETERS, FORMAT_PARAMETER, *EXPORT_PARAMETERS, ANSWER_HEADER],
        responses={(200, "application/json"): PlatformStatsSerializer(many=True), **FILE_RESPONSES},
        examples=[examples.PLATFORM_STATS],
    )
    @replica_reads
    def get(self, request):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = _filters(request, query.validated_data)
        return kept_or_computed(self, request, filters, lambda: self.answer(request, query, filters))

    def answer(self, request, query, filters) -> Response:
        # rows, not tuples: the keyset paginator (`?cursor=`) reads the ordering fields from each row
        platforms = Platform.objects.order_by("name", "id").only("id", "name")
        page = list(platforms) if self.wants_csv() else self.paginate_queryset(platforms)
        assert page is not None, "a paginated view"
        ids = [p.id for p in page]
        figures = selectors.platform_summaries(platform_ids=ids, filters=filters)
        results = [{"platform": {"id": p.id, "name": p.name}, **figures[p.id]} for p in page]
        if self.wants_csv():
            products = exports.product_type_counts(ids, filters)
            rows = [exports.complete(r, products[r["platform"]["id"]]) for r in results]
            title, notes = period_notes(filters, query.validated_data["lang"])
            return self.table_response(
                rows, exports.columns(exports.PLATFORM_COLUMNS, merchants=True), query.validated_data,
                filename=f"platform-stats-{filters.date_from}-{filters.date_to}", title=title, notes=notes)
        response = self.get_paginated_response(results)
        response.data["period"] = {"from": filters.date_from, "to": filters.date_to}
        response.data["scope"] = rules.scope()
        response.data["min_sample"] = rules.min_sample()
        return response


@extend_schema(tags=["stats"])
class PlatformTrendView(StatsBase):
    queryset = Platform.objects.all()

    @extend_schema(
        summary="A platform's figures per week or month",
        parameters=[*PERIOD_PARAMETERS, FORMAT_PARAMETER,
                    *EXPORT_PARAMETERS, ANSWER_HEADER,
                    OpenApiParameter("interval", str, enum=["week", "month"], description="Default: month.")],
        responses={(200, "application/json"): TrendSerializer, **FILE_RESPONSES},
        examples=[examples.TREND],
    )
    @replica_reads
    def get(self, request, pk: str):
        platform = self.get_object_or_404(pk)
        query = TrendQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = _filters(request, query.validated_data)
        return kept_or_computed(self, request, filters, lambda: self.answer(query, filters, platform))

    def answer(self, query, filters, platform) -> Response:
        interval = query.validated_data["interval"]
        series = selectors.platform_trend(platform_id=platform.id, filters=filters, interval=interval)
        if self.wants_csv():
            rows = [exports.complete({**point, "start": str(point["start"]), "end": str(point["end"])}, None)
                    for point in series]
            cols = [c for c in exports.columns(exports.PERIOD_COLUMNS, merchants=False)
                    if not c.code.startswith("by_product_type.")]
            title, notes = period_notes(filters, query.validated_data["lang"])
            return self.table_response(rows, cols, query.validated_data,
                                       filename=f"platform-{platform.id}-trend-{interval}",
                                       title=f"{platform.name} — {title}", notes=notes)
        return Response({
            "platform": {"id": platform.id, "name": platform.name},
            "interval": interval,
            "period": {"from": filters.date_from, "to": filters.date_to},
            "scope": rules.scope(),
            "results": series,
        })

    def get_object_or_404(self, pk):
        platform = Platform.objects.filter(pk=int(pk)).only("id", "name").first()
        if platform is None:
            raise Http404
        return platform


@extend_schema(tags=["stats"])
class ReportView(StatsBase):
    """The complaint analysis of a period (受理投诉情况分析) compared with the previous period of equal length:
    JSON, an XLSX workbook with native charts, or a DOCX narrative with the tables."""

    queryset = Platform.objects.none()
    renderer_classes = [JSONRenderer, XLSXRenderer, DOCXRenderer]

    @extend_schema(
        summary="Complaint analysis of a period (XLSX with charts, DOCX narrative, or JSON)",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day. Default: the last complete quarter."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day. Default: the last complete quarter."),
            OpenApiParameter("format", str, enum=["json", "xlsx", "docx"],
                             description="`xlsx`: sheets overview, platform ranking, dispute types, response and "
                                         "resolution, median times, amounts, escalation levels, group complaints, "
                                         "notable cases, with native charts. `docx`: the narrative with tables."),
            OpenApiParameter("lang", str, enum=["zh", "en"], description="Default: zh."),
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT,
                   (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
                   (200, DOCXRenderer.media_type): OpenApiTypes.BINARY},
    )
    def get(self, request):
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = _filters(request, {"from": query.validated_data["from"], "to": query.validated_data["to"]})
        data = reports.report_data(date_from=filters.date_from, date_to=filters.date_to,
                                   organization_id=filters.organization_id)
        fmt = getattr(request.accepted_renderer, "format", "json")
        lang = query.validated_data["lang"]
        if fmt == "json":
            with override(exports.LANGUAGES[lang]):
                data["main_changes"] = reports.main_changes(data)
            return Response(data)
        build = reports.report_xlsx if fmt == "xlsx" else reports.report_docx
        response = Response({"file_bytes": build(data, lang)})
        response["Content-Disposition"] = (
            f'attachment; filename="complaint-analysis-{filters.date_from}-{filters.date_to}.{fmt}"')
        return response


def _reports_for(request):
    national = rules.scope() == "national"
    return QuarterlyReport.objects.filter(
        organization__isnull=True) if national else QuarterlyReport.objects.filter(
        organization_id=Actor.of(request.user).organization_id)  # type: ignore[misc]  # None filters IS NULL (the stubs refuse None)


@extend_schema(tags=["stats"])
class PreparedReportListView(StatsBase):
    """Reports prepared by `stats.quarterly_report` (the 1st of each quarter) for your scope."""

    queryset = QuarterlyReport.objects.none()
    renderer_classes = [JSONRenderer]

    @extend_schema(summary="Prepared quarterly reports", responses={200: PreparedReportSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(_reports_for(request).order_by("-first_day", "-id"))
        assert page is not None, "a paginated view"
        return self.get_paginated_response([{
            "id": r.id, "first_day": r.first_day, "last_day": r.last_day,
            "scope": "organization" if r.organization_id else "national", "lang": r.lang,
            "created_at": r.created_at,
            "xlsx_url": request.build_absolute_uri(f"/api/v1/stats/reports/{r.id}/xlsx/"),
            "docx_url": request.build_absolute_uri(f"/api/v1/stats/reports/{r.id}/docx/"),
        } for r in page])


@extend_schema(tags=["stats"])
class PreparedReportFileView(StatsBase):
    queryset = QuarterlyReport.objects.none()
    renderer_classes = [JSONRenderer]

    @extend_schema(summary="Download a prepared report (XLSX or DOCX)",
                   responses={(200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
                              (200, DOCXRenderer.media_type): OpenApiTypes.BINARY})
    def get(self, request, pk: str, kind: str):
        report = _reports_for(request).filter(pk=int(pk)).first()
        if report is None:
            raise Http404
        from django.http import FileResponse

        field = report.xlsx if kind == "xlsx" else report.docx
        media = XLSXRenderer.media_type if kind == "xlsx" else DOCXRenderer.media_type
        try:
            handle = field.open("rb")
        except OSError:  # the row outlived its file (storage cleaned by hand): nothing to download
            raise Http404 from None
        return FileResponse(handle, as_attachment=True, content_type=media,
                            filename=f"complaint-analysis-{report.first_day}-{report.last_day}.{kind}")


def _incident_row(incident: MassIncident) -> dict:
    """A mass incident presented as a group complaint (群体投诉): its cases in your organization, how many
    consumers they are (victims) and the amounts at stake, beside the detection figures."""
    cases = incident.own_cases  # type: ignore[attr-defined]  # Prefetch(to_attr=) of MassIncidentViewSet
    disputed = sum((c.amount_paid or Decimal(0) for c in cases), Decimal(0))
    recovered = sum((c.amount_recovered or Decimal(0) for c in cases), Decimal(0))
    return {
        "id": incident.id,
        "title": _("Group complaint: %(platform)s (%(day)s)") % {"platform": incident.platform.name,
                                                                   "day": incident.day},
        "platform": {"id": incident.platform_id, "name": incident.platform.name},
        "day": incident.day,
        "detected_at": incident.detected_at,
        "window_start": incident.window_start,
        "window_end": incident.window_end,
        "count": incident.count,
        "baseline_mean": incident.baseline_mean,
        "baseline_stddev": incident.baseline_stddev,
        "threshold": incident.threshold,
        "group": {"cases": len(cases), "victims": len({c.consumer_id for c in cases}),
                  "amount_disputed": f"{disputed:.2f}", "amount_recovered": f"{recovered:.2f}"},
        "cases": [{"id": c.id, "reference": c.reference, "status": c.status, "amount_paid": f"{c.amount_paid:.2f}"}
                  for c in cases],
    }


@extend_schema_view(
    list=extend_schema(summary="Mass incidents that include your organization's cases",
                       responses={200: MassIncidentSerializer(many=True)}),
    retrieve=extend_schema(summary="A mass incident (only your organization's cases inside)",
                           responses={200: MassIncidentSerializer},
                           examples=[OpenApiExample("incident", value=examples.INCIDENT, response_only=True)]),
)
@extend_schema(tags=["stats"])
class MassIncidentViewSet(viewsets.ReadOnlyModelViewSet):
    roles = {"list": roles_for("mass_incident.read"), "retrieve": roles_for("mass_incident.read"),
             "letter": roles_for("mass_incident.read"), "evidence_pack": roles_for("mass_incident.read"),
             "police_report": roles_for("mass_incident.read")}
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = MassIncidentSerializer

    def get_queryset(self):
        return groups.incidents_for(Actor.of(self.request.user).organization_id)

    def perform_content_negotiation(self, request, force=False):
        """The documents and the pack answer their own `?format=` (txt, docx); errors come back as JSON."""
        files = getattr(self, "action", None) in ("letter", "evidence_pack", "police_report")
        return super().perform_content_negotiation(request, force=force or files)

    @replica_reads
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None, "a paginated view"
        return self.get_paginated_response([_incident_row(i) for i in page])

    @replica_reads
    def retrieve(self, request, *args, **kwargs):
        return Response(_incident_row(self.get_object()))

    @extend_schema(summary="The group complaint's joint letter (DOCX): victims, losses and cases in one document",
                   responses={(200, DOCXRenderer.media_type): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="letter")
    def letter(self, request, *args, **kwargs):
        """A joint letter for the group complaint (to the platform, a regulator, or attached to a police
        report): the incident, the number of victims, their total loss, and each case (reference, date,
        types, amounts) — your organization's cases only, no consumer's name, phone or ID number."""
        from django.http import HttpResponse

        from ..reports import group_letter_docx

        incident = self.get_object()
        response = HttpResponse(group_letter_docx(_incident_row(incident), incident.own_cases),
                                content_type=DOCXRenderer.media_type)
        response["Content-Disposition"] = f'attachment; filename="group-complaint-{incident.id}.docx"'
        return response


    @extend_schema(
        summary="The group complaint's shared evidence pack (ZIP): each of your cases' bundle and a group manifest",
        parameters=[OpenApiParameter("lang", str, enum=["zh-hans", "en"],
                                     description="Language of the letters inside the case bundles (default zh-hans).")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="evidence-pack", url_name="pack")
    def evidence_pack(self, request, *args, **kwargs):
        """One ZIP for the group: `cases/<reference>-bundle.zip`, the very bundle each case downloads (files,
        hash chain, timeline, letter; verifiable with `manage.py verify_bundle`), and `manifest.json` listing
        each case (date, types, amounts, victim number, the bundle's SHA-256 and size), the victims with their
        losses and the totals. The group's own files name no consumer and carry no ID number; each bundle put
        in the pack is audit-logged like a bundle download."""
        from django.http import StreamingHttpResponse

        lang = _document_lang(request)
        incident = self.get_object()
        cases = incident.own_cases
        groups.evidence_pack_audit(incident=incident, cases=cases, actor=request.user, request=request)
        response = StreamingHttpResponse(groups.evidence_pack_stream(incident=incident, cases=cases, lang=lang),
                                         content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="group-complaint-{incident.id}-evidence.zip"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        summary="The group complaint's police report (报案材料) adding up the victims' losses (txt or docx)",
        parameters=[OpenApiParameter("lang", str, enum=["zh-hans", "en"],
                                     description="zh-hans (default, the one to file) or en (for reference)."),
                    OpenApiParameter("format", str, enum=["txt", "docx"], description="txt (default) or docx.")],
        responses={(200, "text/plain"): OpenApiTypes.STR, (200, DOCXRenderer.media_type): OpenApiTypes.BINARY,
                   409: error_response(409, "Nothing in the group says the platform vanished.", "not_absconded",
                                       "None of this group's complaints says the platform absconded …")})
    @action(detail=True, methods=["get"], url_path="police-report", url_name="police")
    def police_report(self, request, *args, **kwargs):
        """For a platform that absconded (any of your cases of the group with dispute type platform_absconded,
        fraud or merchant_unreachable; else 409): the platform, the sellers' handles and payee accounts, each
        victim's loss (numbered, no name or ID number) and the total, compared with the fraud amount bands of
        法释〔2011〕7号 art. 1 quoted as data with their source."""
        from django.http import HttpResponse

        lang = _document_lang(request)
        fmt = request.query_params.get("format", "txt")
        if fmt not in ("txt", "docx"):
            raise exceptions.ValidationError({"format": [_("Unknown format. Allowed: %(formats)s.") % {
                "formats": "txt, docx"}]})
        incident = self.get_object()
        rendered = groups.police_report_render(incident=incident, cases=incident.own_cases,
                                               organization=request.user.organization, lang=lang, fmt=fmt)
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "inline" if fmt == "txt" else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        return response


def _document_lang(request) -> str:
    lang = request.query_params.get("lang", "zh-hans")
    if lang not in ("zh-hans", "en"):
        raise exceptions.ValidationError({"lang": [_("Unknown language %(lang)r: use one of %(langs)s.") % {
            "lang": lang[:20], "langs": "zh-hans, en"}]})
    return lang
