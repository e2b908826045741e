from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Platform
from escalation.documents import DocumentError
from kameng_api.core.admin import AccessAdminMixin, ReadOnlyAdminMixin

from . import exports, groups, rules, selectors
from .charts import line_chart
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
            names = {"resolution_rate": _("resolution rate"), "platform_response_rate": _("platform response rate"),
                     "platform_response_in_window_rate": _("answered in time")}
            charts = [
                line_chart(_("Complaints opened per month"), x_label=_("Month"), y_label=_("Complaints (cases)"),
                           labels=labels, series={chosen.name: [p["complaints"] for p in series]}),
                line_chart(_("Resolution and platform response rates (withheld below the minimum sample)"),
                           x_label=_("Month"), y_label=_("Rate"), labels=labels, percent=True,
                           withheld_legend=_("insufficient sample: fewer than %(n)d cases, rate not computed") % {
                               "n": rules.min_sample()},
                           series={names[k]: [p[k]["value"] for p in series] for k in names},
                           withheld={names[k]: [exports.withheld_text(p[k]["denominator"]) if p[k]["withheld_reason"]
                                                else None for p in series] for k in names}),
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
    """A spike as a group complaint (群体投诉): the detection figures, the organization's cases in it (victims,
    amounts), and the documents to act on — the shared evidence pack, the police report for a platform that
    absconded, the joint letter. The same rules as the API (`mass_incident.read`, own cases only)."""

    access = {"view": "mass_incident.read"}
    actions = ["download_evidence_pack", "download_police_report"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    list_display = ["platform", "day", "count", "baseline_mean", "threshold", "detected_at"]
    list_filter = ["day"]
    readonly_fields = ["group_complaint", "platform", "day", "window_start", "window_end", "count", "baseline_mean",
                       "baseline_stddev", "threshold", "detected_at"]
    exclude = ["cases"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(cases__organization_id=request.user.organization_id).distinct()

    def get_actions(self, request):
        actions = super().get_actions(request)
        return actions if getattr(request.user, "organization_id", None) else {}

    @admin.display(description=gettext_lazy("Group complaint (群体投诉)"))
    def group_complaint(self, obj):
        incident = groups.incidents_for(getattr(obj, "viewer_organization_id", None)).filter(pk=obj.pk).first()
        if incident is None:
            return _("None of your organization's cases is in this incident.")
        cases = incident.own_cases
        total = groups.totals(groups.victims(cases), cases)
        figures = _("%(cases)d cases of your organization, %(victims)d victims: %(paid)s yuan paid, %(recovered)s "
                    "recovered, %(loss)s lost.") % {**total, "cases": total["cases"], "victims": total["victims"]}
        base = f"../../{obj.pk}"
        links = [(f"{base}/evidence-pack/", _("Shared evidence pack (ZIP)")),
                 (f"/api/v1/mass-incidents/{obj.pk}/letter/", _("Joint letter (DOCX)"))]
        if groups.vanished(cases):
            links += [(f"{base}/police-report/?format=docx", _("Police report (DOCX)")),
                      (f"{base}/police-report/", _("Police report (text)")),
                      (f"{base}/police-report/?lang=en", _("Police report, English reference (text)"))]
        return format_html("<p>{}</p><p>{}</p>", figures, format_html_join(
            " · ", '<a href="{}" class="km-group-doc">{}</a>', links))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # the group's figures are the viewer's organization's (this row, this request only)
            obj.viewer_organization_id = getattr(request.user, "organization_id", None)
        return obj

    def get_urls(self):
        from django.urls import path

        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/evidence-pack/", wrap(self.evidence_pack_view), name="stats_massincident_pack"),
            path("<path:object_id>/police-report/", wrap(self.police_report_view), name="stats_massincident_police"),
            *super().get_urls(),
        ]

    def _incident(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        incident = groups.incidents_for(request.user.organization_id).filter(pk=object_id).first() \
            if str(object_id).isdigit() and request.user.organization_id else None
        if incident is None:
            raise Http404
        return incident

    def evidence_pack_view(self, request, object_id):
        incident = self._incident(request, object_id)
        lang = "en" if request.GET.get("lang") == "en" else "zh-hans"
        groups.evidence_pack_audit(incident=incident, cases=incident.own_cases, actor=request.user, request=request)
        response = StreamingHttpResponse(groups.evidence_pack_stream(incident=incident, cases=incident.own_cases,
                                                                     lang=lang), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="group-complaint-{incident.id}-evidence.zip"'
        response["Cache-Control"] = "private, no-store"
        return response

    def police_report_view(self, request, object_id):
        incident = self._incident(request, object_id)
        lang = request.GET.get("lang", "zh-hans")
        fmt = request.GET.get("format", "txt")
        try:
            rendered = groups.police_report_render(incident=incident, cases=incident.own_cases,
                                                   organization=request.user.organization, lang=lang, fmt=fmt)
        except groups.NotVanished as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return HttpResponseRedirect(f"../../{incident.pk}/change/")
        except DocumentError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "inline" if fmt == "txt" else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        return response

    def _one(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one group complaint."), messages.WARNING)
            return None
        return queryset.first()

    @admin.action(description=gettext_lazy("Download the shared evidence pack (ZIP)"))
    def download_evidence_pack(self, request, queryset):
        incident = self._one(request, queryset)
        return HttpResponseRedirect(f"{incident.pk}/evidence-pack/") if incident else None

    @admin.action(description=gettext_lazy("Download the police report (DOCX)"))
    def download_police_report(self, request, queryset):
        incident = self._one(request, queryset)
        return HttpResponseRedirect(f"{incident.pk}/police-report/?format=docx") if incident else None


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
