from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.admin import WORKPLACE_VIEWS, local, workplace
from cases.admin_workplace import CaseAction, LocalDateTimeField, cached, now_local
from cases.services import consumer_read_logged
from kameng_api.core.access import may
from kameng_api.core.actors import Actor
from kameng_api.core.admin import AccessAdminMixin, OrganizationScopedAdmin

from . import rules, services
from .calendar import calendar_status
from .codes import LEVEL_OF_CHANNEL, Channel, DeadlineStatus, EscalationOutcome, SkipReason
from .letter import LANGS, LetterError, letter_text
from .models import CalendarDay, CalendarYear, Deadline, Escalation, RuleVersion, SmallClaimsLimit
from .recommendation import recommend
from .services import FINAL_OUTCOMES

BLANK: list[tuple[str, Any]] = [("", "---------")]
SOON = timedelta(hours=24)


def urgency(deadline, now=None) -> str:
    """overdue | soon (due within 24 h) | later | suspended | met | met_late | cancelled."""
    now = now or timezone.now()
    if deadline.status == DeadlineStatus.MET:
        return "met_late" if deadline.met_at and deadline.met_at > deadline.due_at else "met"
    if deadline.status != DeadlineStatus.OPEN:
        return "cancelled"
    if deadline.suspended_at is not None:
        return "suspended"
    if deadline.due_at <= now:
        return "overdue"
    return "soon" if deadline.due_at <= now + SOON else "later"


URGENCY_LABELS = {
    "overdue": _("overdue"), "soon": _("due within 24 h"), "later": _("later"), "suspended": _("clock stopped"),
    "met": _("met on time"), "met_late": _("met late"), "cancelled": _("cancelled"),
}
URGENCY_CLASS = {"overdue": "km-overdue", "soon": "km-soon", "later": "km-later", "met_late": "km-soon"}


def urgency_badge(deadline, now=None):
    key = urgency(deadline, now)
    return format_html('<span class="{}">{}</span>', URGENCY_CLASS.get(key, "km-muted"), URGENCY_LABELS[key])


# --- the case page: escalate, answer, waiting, clocks ----------------------------------------------------------

def channel_choices(user):
    legal = may(user, "escalation.approve_legal")
    groups: dict[int, list[tuple[str, Any]]] = {}
    for value, label in Channel.choices:
        level = LEVEL_OF_CHANNEL[value]
        if level >= rules.SUPERVISOR_LEVEL and not legal:
            continue
        groups.setdefault(level, []).append((value, label))
    return BLANK + [(f"{level} · {rules.LEVEL_NAMES[level]}", items) for level, items in sorted(groups.items())]


class EscalateForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=())
    submitted_at = LocalDateTimeField(label=_("submitted at"))
    external_reference = forms.CharField(label=_("the channel's reference number"), required=False, max_length=100)
    skip_reason = forms.ChoiceField(label=_("reason for skipping a rung"), required=False,
                                    choices=BLANK + SkipReason.choices,
                                    help_text=_("Only when the case goes up more than one rung."))
    skip_note = forms.CharField(label=_("explanation of the skip"), required=False, max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["channel"]).choices = channel_choices(user)

    def clean(self):
        data = super().clean() or {}
        if data.get("skip_reason") in rules.SKIP_REASONS_NEEDING_NOTE and not (data.get("skip_note") or "").strip():
            self.add_error("skip_note", _("Explain the skip in words when the reason is 'other'."))
        return data


@workplace.action
class EscalateAction(CaseAction):
    name = "escalate"
    label = _("Escalate")
    access = "escalation.submit"
    form_class = EscalateForm
    order = 20

    def form_kwargs(self, request, case):
        return {"user": request.user}

    def initial(self, request, case):
        advice = recommend(case)
        return {"channel": advice["channel"], "submitted_at": now_local(), "skip_reason": advice["skip_reason"]}

    def run(self, request, case, data):
        return services.escalation_submit(actor=request.user, case=case, channel=data["channel"],
                                          submitted_at=data["submitted_at"],
                                          external_reference=data["external_reference"],
                                          skip_reason=data["skip_reason"], skip_note=data["skip_note"])


def case_escalations(case) -> list:
    return cached(case, "escalations", lambda: list(case.escalations.order_by("submitted_at")))


def case_deadlines(case) -> list:
    return cached(case, "deadlines", lambda: list(case.deadlines.all()))


def open_escalations(case):
    return case.escalations.exclude(outcome__in=FINAL_OUTCOMES).order_by("-submitted_at")


class AnswerForm(forms.Form):
    escalation = forms.ModelChoiceField(label=_("escalation"), queryset=Escalation.objects.none())
    response = forms.CharField(label=_("the answer"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                               max_length=5000)
    responded_at = LocalDateTimeField(label=_("answered at"))
    outcome = forms.ChoiceField(label=_("outcome"), choices=BLANK + [
        c for c in EscalationOutcome.choices if c[0] != EscalationOutcome.PENDING])

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["escalation"])
        field.queryset = open_escalations(case)
        field.label_from_instance = lambda e: (  # type: ignore[method-assign, assignment]  # an instance override, as Django documents
            f"{e.get_channel_display()} · {local(e.submitted_at)}"
            + (f" · {e.external_reference}" if e.external_reference else ""))


@workplace.action
class AnswerAction(CaseAction):
    name = "answer"
    label = _("Record an answer")
    access = "escalation.answer"
    form_class = AnswerForm
    order = 30

    def available(self, user, case):
        return case.is_open and any(e.outcome not in FINAL_OUTCOMES for e in case_escalations(case))

    def form_kwargs(self, request, case):
        return {"case": case}

    def initial(self, request, case):
        latest = open_escalations(case).first()
        return {"escalation": latest.pk if latest else None, "responded_at": now_local()}

    def run(self, request, case, data):
        return services.escalation_answer(actor=request.user, escalation=data["escalation"],
                                          response=data["response"], responded_at=data["responded_at"],
                                          outcome=data["outcome"])


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, max_length=500)


@workplace.action
class WaitingAction(CaseAction):
    """Through the same service as `cases/{id}/waiting/`: every open clock stops or restarts."""

    name = "waiting"
    label = _("Waiting on the consumer / resume")
    access = "case.waiting"
    form_class = NoteForm
    order = 40

    def run(self, request, case, data):
        return services.case_waiting_set(actor=request.user, case=case, waiting=not case.waiting_on_consumer,
                                         note=data["note"])

    def success(self, request, case, result):
        if result["waiting_on_consumer"]:
            return str(_("The case waits on the consumer: %(n)s clocks stopped.") % {"n": result["deadlines_changed"]})
        return str(_("The case no longer waits: %(n)s clocks restarted.") % {"n": result["deadlines_changed"]})


class ClockForm(forms.Form):
    deadline = forms.ModelChoiceField(label=_("clock"), queryset=Deadline.objects.none())
    operation = forms.ChoiceField(label=_("what to do"), choices=BLANK + [
        ("suspend", _("stop the clock")), ("resume", _("restart the clock")), ("extend", _("extend"))])
    extend_by = forms.IntegerField(label=_("extend by (working days or hours, as the clock counts)"),
                                   required=False, min_value=1, max_value=services.MAX_EXTENSION)
    reason = forms.CharField(label=_("reason"), required=False, max_length=1000)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["deadline"])
        field.queryset = case.deadlines.filter(status=DeadlineStatus.OPEN).order_by("due_at")
        field.label_from_instance = lambda d: (  # type: ignore[method-assign, assignment]  # an instance override, as Django documents
            f"{d.get_kind_display()} · {local(d.due_at)}" + (f" · {_('clock stopped')}" if d.suspended_at else ""))

    def clean(self):
        data = super().clean() or {}
        if data.get("operation") == "extend":
            if not data.get("extend_by"):
                self.add_error("extend_by", _("Say by how much."))
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Say why the deadline is extended."))
        return data


@workplace.action
class ClockAction(CaseAction):
    name = "clock"
    label = _("Stop / restart / extend a clock")
    access = "deadline.manage"
    form_class = ClockForm
    order = 45

    def available(self, user, case):
        return case.is_open and any(d.status == DeadlineStatus.OPEN for d in case_deadlines(case))

    def form_kwargs(self, request, case):
        return {"case": case}

    def run(self, request, case, data):
        deadline, operation = data["deadline"], data["operation"]
        if operation == "suspend":
            return services.deadline_suspend(actor=request.user, deadline=deadline, note=data["reason"])
        if operation == "resume":
            return services.deadline_resume(actor=request.user, deadline=deadline)
        return services.deadline_extend(actor=request.user, deadline=deadline, extend_by=data["extend_by"],
                                        reason=data["reason"])


@workplace.panel(20)
def recommendation_panel(request, case):
    if not case.is_open:
        return None
    advice = recommend(case)
    return {"template": "admin/escalation/panel_recommendation.html", "title": _("Next step"), "id": "recommendation",
            "advice": advice, "channel_label": Channel(advice["channel"]).label,
            "channels": Channel.choices, "langs": LANGS}


@workplace.panel(30)
def clocks_panel(request, case):
    now = timezone.now()
    deadlines = sorted(case_deadlines(case), key=lambda d: (d.status != DeadlineStatus.OPEN, d.due_at))
    rows = [{"deadline": d, "badge": urgency_badge(d, now)} for d in deadlines]
    escalations = case_escalations(case)
    return {"template": "admin/escalation/panel_clocks.html", "title": _("Clocks and escalations"), "id": "clocks",
            "rows": rows, "escalations": escalations}


def letter_view(model_admin):
    def view(request, object_id):
        """The letter as a page to read and print (and the same text as the API's letter/)."""
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        case = model_admin.get_queryset(request).select_related("platform", "consumer", "merchant") \
            .filter(pk=object_id).first() if str(object_id).isdigit() else None
        if case is None:
            raise Http404
        lang = request.GET.get("lang") or ("en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh-hans")
        channel = request.GET.get("channel") or None
        try:
            text = letter_text(case, lang=lang, channel=channel)
        except LetterError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        consumer_read_logged(actor=request.user, case=case, request=request)
        context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "case": case,
                   "original": case, "text": text, "lang": lang, "channel": channel,
                   "channels": Channel.choices, "langs": LANGS,
                   "title": _("Letter for %(ref)s") % {"ref": case.reference}}
        return TemplateResponse(request, "admin/escalation/letter.html", context)
    return view


WORKPLACE_VIEWS.append(("<path:object_id>/letter/", letter_view, "cases_case_letter"))


# --- lists -------------------------------------------------------------------------------------------------------

@admin.register(Escalation)
class EscalationAdmin(OrganizationScopedAdmin):
    access = {"view": "case.read"}
    list_display = ["case", "level", "channel", "submitted_local", "due_local", "outcome"]
    list_filter = ["level", "channel", "outcome"]
    search_fields = ["case__reference", "external_reference"]
    list_select_related = ["case"]
    readonly_fields = [f.name for f in Escalation._meta.fields]

    @admin.display(description=_("submitted at"), ordering="submitted_at")
    def submitted_local(self, obj):
        return local(obj.submitted_at)

    @admin.display(description=_("answer due at"), ordering="due_at")
    def due_local(self, obj):
        return local(obj.due_at)


def _notice(request):
    for line in calendar_status(organization_id=Actor.of(request.user).organization_id)["notices"]:
        messages.warning(request, line)


class DeadlineStateFilter(admin.SimpleListFilter):
    """Open clocks by default; met (on time or late) and cancelled ones a click away."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", pgettext_lazy("deadline state", "open")), ("overdue", _("overdue")), ("met", _("met on time")),
                ("met_late", _("met late")), ("cancelled", _("cancelled")), ("all", _("all"))]

    def choices(self, changelist):
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {"selected": value == lookup, "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request, queryset):
        from django.db.models import F

        value = self.value() or "open"
        now = timezone.now()
        if value == "open":
            return queryset.filter(status=DeadlineStatus.OPEN)
        if value == "overdue":
            return queryset.filter(status=DeadlineStatus.OPEN, suspended_at__isnull=True, due_at__lte=now)
        if value == "met":
            return queryset.filter(status=DeadlineStatus.MET, met_at__lte=F("due_at"))
        if value == "met_late":
            return queryset.filter(status=DeadlineStatus.MET, met_at__gt=F("due_at"))
        if value == "cancelled":
            return queryset.filter(status=DeadlineStatus.CANCELLED)
        return queryset


@admin.register(Deadline)
class DeadlineAdmin(OrganizationScopedAdmin):
    access = {"view": "deadline.read"}
    list_display = ["case", "kind", "due_local", "state", "assignee", "is_provisional"]
    list_filter = [DeadlineStateFilter, "kind", "provisional"]
    search_fields = ["case__reference"]
    ordering = ["due_at"]
    list_select_related = ["case", "case__assignee"]
    readonly_fields = [f.name for f in Deadline._meta.fields]

    @admin.display(description=_("due at"), ordering="due_at")
    def due_local(self, obj):
        return local(obj.due_at)

    @admin.display(description=_("state"))
    def state(self, obj):
        return urgency_badge(obj)

    @admin.display(description=_("provisional"), ordering="provisional")
    def is_provisional(self, obj):
        return _("provisional") if obj.provisional else "—"

    @admin.display(description=_("assignee"))
    def assignee(self, obj):
        return obj.case.assignee or "—"

    def changelist_view(self, request, extra_context=None):
        _notice(request)
        return super().changelist_view(request, extra_context)


@admin.register(CalendarDay)
class CalendarDayAdmin(OrganizationScopedAdmin):
    """Public holidays and adjusted working days (调休) that win over the library; saving recounts the open
    working-day deadlines (provisional ones become final once their year is entered)."""

    access = {"view": "calendar.read", "add": "calendar.manage", "change": "calendar.manage",
              "delete": "calendar.manage"}
    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def changelist_view(self, request, extra_context=None):
        _notice(request)
        return super().changelist_view(request, extra_context)

    def _recounted(self, request, count):
        if count:
            messages.info(request, _("%(n)s open deadlines recounted.") % {"n": count})

    def save_model(self, request, obj, form, change):
        self._recounted(request, services.calendar_day_save(actor=request.user, day=obj))

    def delete_model(self, request, obj):
        self._recounted(request, services.calendar_day_delete(actor=request.user, days=[obj]))

    def delete_queryset(self, request, queryset):
        self._recounted(request, services.calendar_day_delete(actor=request.user, days=queryset))


@admin.register(RuleVersion)
class RuleVersionAdmin(AccessAdminMixin, admin.ModelAdmin):
    """The statutory values by effective date. A change in the law is a new row (with `effective_from`), the
    previous row gets its `effective_to`; saving recounts the open deadlines counted from the table."""

    access = {"view": "calendar.read", "add": "calendar.manage", "change": "calendar.manage"}

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
class SmallClaimsLimitAdmin(AccessAdminMixin, admin.ModelAdmin):
    """Per province: 50 % of the previous year's average wage of the employed (民事诉讼法 art. 165)."""

    access = {"view": "calendar.read", "add": "calendar.manage", "change": "calendar.manage"}

    list_display = ["province", "limit", "wage_year", "average_wage", "applies_from", "confirmed"]
    list_filter = ["confirmed", "wage_year", "province"]


@admin.register(CalendarYear)
class CalendarYearAdmin(AccessAdminMixin, admin.ModelAdmin):
    """Tick 'schedule entered' once the whole State Council schedule of the year is entered as overrides."""

    access = {"view": "calendar.read", "add": "calendar.manage", "change": "calendar.manage"}

    list_display = ["year", "schedule_entered", "note"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        count = services.deadlines_recompute()
        if count:
            messages.info(request, _("%(n)s open deadlines recounted.") % {"n": count})


