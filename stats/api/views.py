from operator import itemgetter

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from cases.codes import DisputeType, ProductType
from cases.models import Case, Platform
from kameng_api.core.access import roles_for
from kameng_api.core.openapi import AutoSchema
from kameng_api.core.preconditions import MethodAllowed
from kameng_api.core.replica import replica_reads

from .. import rules, selectors
from ..models import MassIncident
from . import examples
from .permissions import CanReadStats
from .renderers import CSVRenderer
from .serializers import (
    MassIncidentSerializer,
    PlatformStatsSerializer,
    StatsQuerySerializer,
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
    "format", str, enum=["json", "csv"],
    description="`csv` (or `Accept: text/csv`): every platform in one UTF-8 CSV with a BOM, not paginated.")


def _filters(request, data: dict) -> selectors.StatsFilter:
    national = rules.scope() == "national"
    return selectors.StatsFilter(
        date_from=data["from"], date_to=data["to"], product_type=data.get("product_type"),
        dispute_type=data.get("dispute_type"), organization_id=None if national else request.user.organization_id,
    )


def _flat(row: dict, prefix: str = "") -> dict:
    """One CSV line: nested figures become columns (resolution_rate.value, resolution_rate.numerator...)."""
    out = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = _joined(value)
        else:
            out[name] = "" if value is None else value
    return out


def _joined(value: list) -> str:
    return "; ".join(f"{m['name']} ({m['complaints']})" for m in value)


def _table(rows: list[dict]) -> tuple[list[str], list[list]]:
    """(header, lines) of the CSV: the columns of `_flat`, planned once for all rows instead of flattening
    each row into a dict (the CSV of every platform is 500 rows of ~70 columns). A nested figure whose keys
    vary between rows (the dispute types present) gets the union of its keys; a missing one is empty (the
    csv module writes None as an empty field)."""
    if not rows:
        return [], []
    if any(isinstance(v, dict) and any(isinstance(x, dict) for x in v.values()) for v in rows[0].values()):
        flat = [_flat(r) for r in rows]  # deeper than two levels: the generic way
        header = list(dict.fromkeys(k for r in flat for k in r))
        return header, [[r.get(h, "") for h in header] for r in flat]
    header, plan = [], []  # plan: (key, kind, keys of a nested figure, a getter of all of them at once)
    for key, value in rows[0].items():
        if isinstance(value, dict):
            first, seen = list(value), set()
            for row in rows:
                seen.update(row[key])
            keys = first + sorted(seen - set(first))
            uniform = len(keys) > 1 and len(seen) == len(first) and all(len(row[key]) == len(first) for row in rows)
            plan.append((key, "dict", keys, itemgetter(*keys) if uniform else None))
            header += [f"{key}.{k}" for k in keys]
        else:
            plan.append((key, "list" if isinstance(value, list) else "value", None, None))
            header.append(key)
    lines = []
    for row in rows:
        line = []
        for key, kind, keys, getter in plan:
            value = row[key]
            if kind == "dict":
                line.extend(getter(value) if getter else [value.get(k) for k in keys])
            elif kind == "list":
                line.append(_joined(value))
            else:
                line.append(value)
        lines.append(line)
    return header, lines


class StatsSchema(AutoSchema):
    """The query parameters are validated by a serializer: document the 400 validation errors too."""

    def _should_add_validation_error_response(self) -> bool:
        return True


class StatsBase(GenericAPIView):
    schema = StatsSchema()
    permission_classes = [MethodAllowed, CanReadStats]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def wants_csv(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return isinstance(renderer, CSVRenderer)

    def csv_response(self, rows: list[dict], filename: str) -> Response:
        header, lines = _table(rows)
        response = Response({"csv_header": header, "csv_lines": lines})
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@extend_schema(tags=["stats"])
class PlatformStatsView(StatsBase):
    """Per-platform complaint statistics over a period (analysts, supervisors, partner keys with
    `can_read_stats`). Rates come with their counts and are withheld below the minimum sample."""

    queryset = Platform.objects.none()

    @extend_schema(
        summary="Complaint statistics per platform",
        parameters=[*PERIOD_PARAMETERS, FORMAT_PARAMETER],
        responses={200: PlatformStatsSerializer(many=True)},
        examples=[examples.PLATFORM_STATS],
    )
    @replica_reads
    def get(self, request):
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = _filters(request, query.validated_data)
        platforms = Platform.objects.order_by("name", "id").values_list("id", "name")
        page = list(platforms) if self.wants_csv() else self.paginate_queryset(platforms)
        figures = selectors.platform_summaries(platform_ids=[pid for pid, _name in page], filters=filters)
        results = [{"platform": {"id": pid, "name": name}, **figures[pid]} for pid, name in page]
        if self.wants_csv():
            return self.csv_response(results, f"platform-stats-{filters.date_from}-{filters.date_to}.csv")
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
                    OpenApiParameter("interval", str, enum=["week", "month"], description="Default: month.")],
        responses={200: TrendSerializer},
        examples=[examples.TREND],
    )
    @replica_reads
    def get(self, request, pk: str):
        platform = self.get_object_or_404(pk)
        query = TrendQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = _filters(request, query.validated_data)
        interval = query.validated_data["interval"]
        series = selectors.platform_trend(platform_id=platform.id, filters=filters, interval=interval)
        if self.wants_csv():
            return self.csv_response(series, f"platform-{platform.id}-trend-{interval}.csv")
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


def _incident_row(incident: MassIncident) -> dict:
    return {
        "id": incident.id,
        "platform": {"id": incident.platform_id, "name": incident.platform.name},
        "day": incident.day,
        "detected_at": incident.detected_at,
        "window_start": incident.window_start,
        "window_end": incident.window_end,
        "count": incident.count,
        "baseline_mean": incident.baseline_mean,
        "baseline_stddev": incident.baseline_stddev,
        "threshold": incident.threshold,
        "cases": [{"id": c.id, "reference": c.reference, "status": c.status} for c in incident.own_cases],
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
    roles = {"list": roles_for("mass_incident.read"), "retrieve": roles_for("mass_incident.read")}
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = MassIncidentSerializer

    def get_queryset(self):
        org_id = getattr(self.request.user, "organization_id", None)
        own = Case.objects.filter(organization_id=org_id).only("id", "reference", "status").order_by("id")
        return (
            MassIncident.objects.filter(cases__organization_id=org_id).distinct()
            .select_related("platform").prefetch_related(Prefetch("cases", queryset=own, to_attr="own_cases"))
            .order_by("-detected_at", "-id")
        )

    @replica_reads
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_incident_row(i) for i in page])

    @replica_reads
    def retrieve(self, request, *args, **kwargs):
        return Response(_incident_row(self.get_object()))

