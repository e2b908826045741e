from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.admin import CaseAdmin
from kameng_api.core.admin import OrganizationScopedAdmin

from . import services
from .calendar import calendar_status
from .models import CalendarDay, CalendarYear, Deadline, Escalation, RuleVersion, SmallClaimsLimit


class EscalationInline(admin.TabularInline):
    """Read-only here: escalating goes through the API's services (ladder, deadlines, status)."""

    model = Escalation
    fk_name = "case"
    extra = 0
    fields = ["submitted_at", "level", "channel", "external_reference", "skip_reason", "due_at", "outcome",
              "responded_at", "approved_by"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("escalations")

    def has_add_permission(self, request, obj=None):
        return False


CaseAdmin.inlines = [*CaseAdmin.inlines, EscalationInline]


@admin.register(Escalation)
class EscalationAdmin(OrganizationScopedAdmin):
    organization_path = "case__organization"
    list_display = ["case", "level", "channel", "submitted_at", "due_at", "outcome"]
    list_filter = ["level", "channel", "outcome"]
    search_fields = ["case__reference", "external_reference"]
    list_select_related = ["case"]
    readonly_fields = [f.name for f in Escalation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _notice(request):
    for line in calendar_status(organization_id=getattr(request.user, "organization_id", None))["notices"]:
        messages.warning(request, line)


@admin.register(Deadline)
class DeadlineAdmin(OrganizationScopedAdmin):
    organization_path = "case__organization"
    list_display = ["case", "kind", "due_at", "very_late_at", "provisional", "status", "suspended_at"]
    list_filter = ["status", "kind", "provisional"]
    search_fields = ["case__reference"]
    date_hierarchy = "due_at"
    list_select_related = ["case"]
    readonly_fields = [f.name for f in Deadline._meta.fields]

    def changelist_view(self, request, extra_context=None):
        _notice(request)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Public holidays and adjusted working days (调休) that win over the library; saving recounts the open
    working-day deadlines (provisional ones become final once their year is entered)."""

    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def changelist_view(self, request, extra_context=None):
        _notice(request)
        return super().changelist_view(request, extra_context)

    def _recount(self, request):
        count = services.deadlines_recompute()
        if count:
            messages.info(request, _("%(n)s open deadlines recounted.") % {"n": count})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._recount(request)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._recount(request)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        self._recount(request)


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """The statutory values by effective date. A change in the law is a new row (with `effective_from`), the
    previous row gets its `effective_to`; saving recounts the open deadlines counted from the table."""

    list_display = ["key", "value", "unit", "law", "article", "effective_from", "effective_to", "confirmed"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["key", "confirmed"]
    search_fields = ["law", "article", "quote", "note"]

    def changelist_view(self, request, extra_context=None):
        unconfirmed = RuleVersion.objects.filter(confirmed=False).count()
        if unconfirmed:
            messages.warning(request, _("%(n)s rule versions are unconfirmed: check them against the official "
                                        "text and tick 'confirmed'.") % {"n": unconfirmed})
        return super().changelist_view(request, extra_context)

    def _recount(self, request):
        count = services.deadlines_recount_rules()
        if count:
            messages.info(request, _("%(n)s open deadlines recounted.") % {"n": count})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not obj.confirmed:
            messages.warning(request, _("This rule version is marked unconfirmed."))
        self._recount(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SmallClaimsLimit)
class SmallClaimsLimitAdmin(admin.ModelAdmin):
    """Per province: 50 % of the previous year's average wage of the employed (民事诉讼法 art. 165)."""

    list_display = ["province", "limit", "wage_year", "average_wage", "applies_from", "confirmed"]
    list_filter = ["confirmed", "wage_year", "province"]


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Tick 'schedule entered' once the whole State Council schedule of the year is entered as overrides."""

    list_display = ["year", "schedule_entered", "note"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        count = services.deadlines_recompute()
        if count:
            messages.info(request, _("%(n)s open deadlines recounted.") % {"n": count})
