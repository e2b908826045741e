from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Platform
from kameng_api.core.admin import AccessAdminMixin, ReadOnlyAdminMixin

from . import rules, selectors
from .charts import bar_chart, rate_chart
from .models import DailyStat, MassIncident, QuarterlyReport


@admin.register(DailyStat)
class PlatformChartsAdmin(ReadOnlyAdminMixin, AccessAdminMixin, admin.ModelAdmin):
    """Not a table to edit: the changelist is a page of charts (monthly complaints, resolution and
    platform response rates) for staff who would rather look than read. Open to the roles the stats API
    allows (intake staff and handlers get 403 there, so here too)."""

    access = {"view": "stats.read"}

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        date_from = (today - timedelta(days=365)).replace(day=1)
        org_id = None if request.user.is_superuser or rules.scope() == "national" else request.user.organization_id
        filters = selectors.StatsFilter(date_from=date_from, date_to=today, organization_id=org_id)
        platforms = list(Platform.objects.order_by("name").only("id", "name"))
        chosen = next((p for p in platforms if str(p.id) == request.GET.get("platform")), None)
        if chosen is None and platforms:
            counts = selectors.platform_summaries(platform_ids=[p.id for p in platforms][:200], filters=filters)
            chosen = max(platforms[:200], key=lambda p: counts[p.id]["complaints"])
        charts = []
        if chosen is not None:
            series = selectors.platform_trend(platform_id=chosen.id, filters=filters, interval="month")
            labels = [p["start"].strftime("%Y-%m") for p in series]
            charts = [
                bar_chart(_("Complaints opened per month"), labels, [p["complaints"] for p in series]),
                rate_chart(_("Resolution and platform response rates (withheld below the minimum sample)"), labels, {
                    _("resolution rate"): [p["resolution_rate"]["value"] for p in series],
                    _("platform response rate"): [p["platform_response_rate"]["value"] for p in series],
                    _("answered in time"): [p["platform_response_in_window_rate"]["value"] for p in series],
                }),
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Platform statistics"),
            "opts": self.model._meta,
            "platforms": platforms,
            "chosen": chosen,
            "charts": charts,
            "date_from": date_from,
            "date_to": today,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/stats/charts.html", context)


@admin.register(MassIncident)
class MassIncidentAdmin(AccessAdminMixin, admin.ModelAdmin):
    access = {"view": "mass_incident.read"}

    def has_add_permission(self, request, *args):
        return False
    list_display = ["platform", "day", "count", "baseline_mean", "threshold", "detected_at"]
    list_filter = ["day"]
    readonly_fields = ["platform", "day", "window_start", "window_end", "count", "baseline_mean",
                       "baseline_stddev", "threshold", "detected_at"]
    exclude = ["cases"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(cases__organization_id=request.user.organization_id).distinct()


@admin.register(QuarterlyReport)
class QuarterlyReportAdmin(AccessAdminMixin, admin.ModelAdmin):
    """Prepared complaint analyses, downloaded through the API (the same access rules as stats/platforms/)."""

    access = {"view": "stats.read"}

    list_display = ["first_day", "last_day", "organization", "lang", "created_at", "downloads"]
    list_filter = ["first_day"]
    fields = readonly_fields = ("first_day", "last_day", "organization", "lang", "created_at", "downloads")

    @admin.display(description=gettext_lazy("Download"))
    def downloads(self, obj):
        return format_html('<a href="/api/v1/stats/reports/{}/xlsx/">XLSX</a> · '
                           '<a href="/api/v1/stats/reports/{}/docx/">DOCX</a>', obj.id, obj.id)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organization")
        if request.user.is_superuser:
            return qs
        if rules.scope() == "national":
            return qs.filter(organization__isnull=True)
        return qs.filter(organization_id=request.user.organization_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
