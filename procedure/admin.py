"""The procedure on the case page (actions and a panel registered with the case workplace, so the cases app
never imports this one), and the lists: procedures, issued documents, public-interest files."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.admin import WORKPLACE_VIEWS, workplace
from cases.admin_workplace import CaseAction, LocalDateTimeField, cached, now_local
from kameng_api.core.admin import OrganizationScopedAdmin

from . import services
from .codes import (
    Decision,
    RefusalGround,
    SessionMode,
    SessionOutcome,
    Stage,
    SupportStatus,
    TerminationReason,
    WaitingOn,
)
from .documents import FORMATS, LANGS, document_render
from .models import IssuedDocument, Procedure, PublicInterestFile, Victim

BLANK: list[tuple[str, Any]] = [("", "---------")]


def case_procedure(case):
    return cached(case, "procedure", lambda: Procedure.objects.filter(case=case).select_related(
        "acceptance_rule", "mediation_rule").first())


class _ProcedureAction(CaseAction):
    access = "procedure.record"
    stages: tuple = ()

    def available(self, user, case):
        proc = case_procedure(case)
        return proc is not None and proc.stage in self.stages


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("decision"), choices=BLANK + Decision.choices)
    ground = forms.ChoiceField(label=_("ground of refusal"), choices=BLANK + RefusalGround.choices, required=False)
    forwarded_to = forms.CharField(label=_("forwarded to"), required=False, max_length=200)
    note = forms.CharField(label=_("reasons and facts"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    decided_at = LocalDateTimeField(label=_("decided at"))


@workplace.action
class AcceptanceAction(_ProcedureAction):
    name = "acceptance"
    label = _("Accept / refuse / forward the complaint")
    form_class = DecisionForm
    stages = (Stage.REGISTERED,)
    order = 5

    def initial(self, request, case):
        return {"decided_at": now_local()}

    def run(self, request, case, data):
        return services.acceptance_decide(actor=request.user, case=case, decision=data["decision"],
                                          ground=data["ground"], note=data["note"],
                                          forwarded_to=data["forwarded_to"], decided_at=data["decided_at"])


class ReviewForm(forms.Form):
    approve = forms.TypedChoiceField(label=_("the proposed refusal"), coerce=lambda v: v == "yes",
                                     choices=[("yes", _("approve: issue the notice")), ("no", _("send back"))])
    note = forms.CharField(label=_("note"), required=False, max_length=2000)


@workplace.action
class RefusalReviewAction(_ProcedureAction):
    name = "refusal_review"
    label = _("Approve or send back the proposed refusal")
    access = "procedure.approve"
    form_class = ReviewForm
    stages = (Stage.REFUSAL_PROPOSED,)
    order = 6

    def run(self, request, case, data):
        return services.refusal_review(actor=request.user, case=case, approve=data["approve"], note=data["note"])


class SessionForm(forms.Form):
    held_at = LocalDateTimeField(label=_("held at"))
    mode = forms.ChoiceField(label=_("how"), choices=SessionMode.choices)
    mediator = forms.CharField(label=_("mediator"), required=False, max_length=100)
    merchant_representative = forms.CharField(label=_("merchant's representative"), required=False, max_length=200)
    other_participants = forms.CharField(label=_("other participants"), required=False, max_length=300)
    consumer_proposal = forms.CharField(label=_("what the consumer proposed"), required=False, max_length=5000,
                                        widget=forms.Textarea(attrs={"rows": 2}))
    merchant_proposal = forms.CharField(label=_("what the merchant proposed"), required=False, max_length=5000,
                                        widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(label=_("outcome"), choices=SessionOutcome.choices)
    note = forms.CharField(label=_("note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


@workplace.action
class SessionAction(_ProcedureAction):
    name = "mediation_session"
    label = _("Record a mediation session")
    form_class = SessionForm
    stages = (Stage.ACCEPTED,)
    order = 7

    def initial(self, request, case):
        return {"held_at": now_local()}

    def run(self, request, case, data):
        return services.session_record(actor=request.user, case=case, data=dict(data, consumer_attended=True))


class PauseForm(forms.Form):
    waiting_on = forms.ChoiceField(label=_("waiting on"), choices=BLANK + WaitingOn.choices, required=False,
                                   help_text=_("Only to stop the clock."))
    reason = forms.CharField(label=_("reason"), required=False, max_length=2000)


@workplace.action
class PauseAction(_ProcedureAction):
    name = "procedure_clock"
    label = _("Stop / restart the procedure's clock")
    form_class = PauseForm
    stages = (Stage.REGISTERED, Stage.REFUSAL_PROPOSED, Stage.ACCEPTED)
    order = 8

    def run(self, request, case, data):
        if case_procedure(case).paused_at is not None:
            return services.clock_resume(actor=request.user, case=case)
        if not data["waiting_on"]:
            from django.core.exceptions import ValidationError

            raise ValidationError({"waiting_on": _("Say whom the procedure waits on.")})
        return services.clock_pause(actor=request.user, case=case, waiting_on=data["waiting_on"],
                                    reason=data["reason"])


class AgreementForm(forms.Form):
    amount = forms.DecimalField(label=_("amount to pay (CNY)"), min_value=0, max_digits=12, decimal_places=2)
    pay_by = forms.DateField(label=_("to be paid by"), widget=forms.DateInput(attrs={"type": "date"}))
    terms = forms.CharField(label=_("terms"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    if_unpaid = forms.CharField(label=_("if not paid by the deadline"), max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))
    signed_at = LocalDateTimeField(label=_("agreement signed at"))


@workplace.action
class AgreementAction(_ProcedureAction):
    name = "mediation_agreement"
    label = _("Record the mediation agreement")
    form_class = AgreementForm
    stages = (Stage.ACCEPTED,)
    order = 9

    def initial(self, request, case):
        return {"signed_at": now_local()}

    def run(self, request, case, data):
        return services.agreement_record(actor=request.user, case=case, **data)


class PerformanceForm(forms.Form):
    performed_at = LocalDateTimeField(label=_("performed at"))
    note = forms.CharField(label=_("note"), required=False, max_length=2000)


@workplace.action
class PerformanceAction(_ProcedureAction):
    name = "agreement_performed"
    label = _("Record that the agreement was performed")
    form_class = PerformanceForm
    stages = (Stage.AGREEMENT,)
    order = 10

    def initial(self, request, case):
        return {"performed_at": now_local()}

    def run(self, request, case, data):
        return services.performance_record(actor=request.user, case=case, **data)


class TerminationForm(forms.Form):
    reason = forms.ChoiceField(label=_("reason for termination"), choices=BLANK + TerminationReason.choices)
    note = forms.CharField(label=_("facts"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    at = LocalDateTimeField(label=_("terminated at"))


@workplace.action
class TerminationAction(_ProcedureAction):
    name = "mediation_termination"
    label = _("Terminate mediation")
    form_class = TerminationForm
    stages = (Stage.ACCEPTED,)
    style = "danger"
    order = 11

    def initial(self, request, case):
        return {"at": now_local()}

    def run(self, request, case, data):
        return services.mediation_terminate(actor=request.user, case=case, **data)


class SupportForm(forms.Form):
    court = forms.CharField(label=_("court"), max_length=200)
    facts_found = forms.CharField(label=_("facts the association found"), max_length=10000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    opinion = forms.CharField(label=_("the association's opinion"), max_length=10000,
                              widget=forms.Textarea(attrs={"rows": 3}))


@workplace.action
class SupportAction(_ProcedureAction):
    name = "lawsuit_support"
    label = _("Support the consumer's lawsuit (支持起诉)")
    form_class = SupportForm
    stages = (Stage.TERMINATED,)
    order = 12

    def available(self, user, case):
        proc = case_procedure(case)
        return (super().available(user, case) and proc.track == "consumer_association"
                and not hasattr(proc, "support"))

    def run(self, request, case, data):
        return services.support_propose(actor=request.user, case=case, **data)


@workplace.action
class SupportApproveAction(_ProcedureAction):
    name = "lawsuit_support_approve"
    label = _("Approve the support to sue")
    access = "procedure.approve"
    stages = (Stage.TERMINATED,)
    order = 13

    def available(self, user, case):
        proc = case_procedure(case)
        support = getattr(proc, "support", None) if proc else None
        return super().available(user, case) and support is not None and support.status == SupportStatus.PROPOSED

    def run(self, request, case, data):
        return services.support_approve(actor=request.user, case=case)


@workplace.panel(15)
def procedure_panel(request, case):
    proc = case_procedure(case)
    if proc is None:
        return None
    return {"template": "admin/procedure/panel_procedure.html", "title": _("The organization's procedure"),
            "id": "procedure", "proc": proc, "acceptance_rule": proc.acceptance_rule,
            "sessions": list(proc.sessions.all()), "documents": list(case.issued_documents.order_by("issued_at")),
            "agreement_overdue": bool(proc.agreement_pay_by and not proc.performed_at
                                      and proc.agreement_pay_by < timezone.localdate())}


def document_view(model_admin):
    def view(request, object_id, document_id):
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        case = model_admin.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        document = IssuedDocument.objects.filter(case=case, pk=document_id).first() if case else None
        if document is None:
            raise Http404
        lang, fmt = request.GET.get("lang", "zh-hans"), request.GET.get("format", "txt")
        if lang not in LANGS or fmt not in FORMATS:
            raise Http404
        rendered = document_render(document=document, lang=lang, fmt=fmt)
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "attachment" if fmt == "docx" else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        return response
    return view


WORKPLACE_VIEWS.append(("<path:object_id>/procedure-documents/<int:document_id>/", document_view,
                        "cases_case_procedure_document"))


@admin.register(Procedure)
class ProcedureAdmin(OrganizationScopedAdmin):
    access = {"view": "procedure.read"}
    list_display = ["case", "track", "stage", "registered_at", "acceptance_due_at", "mediation_due_at",
                    "agreement_pay_by"]
    list_filter = ["track", "stage", "refusal_ground", "termination_reason"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]
    readonly_fields = [f.name for f in Procedure._meta.fields]


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(OrganizationScopedAdmin):
    access = {"view": "procedure.read"}
    list_display = ["number", "kind", "case", "issued_at"]
    list_filter = ["kind"]
    search_fields = ["number", "case__reference"]
    list_select_related = ["case"]
    readonly_fields = [f.name for f in IssuedDocument._meta.fields]


class VictimInline(admin.TabularInline):
    model = Victim
    extra = 0
    fields = ["case", "name", "loss", "note"]
    raw_id_fields = ["case"]


@admin.register(PublicInterestFile)
class PublicInterestFileAdmin(OrganizationScopedAdmin):
    access = {"view": "public_interest.manage"}
    list_display = ["title", "respondent", "opened_at"]
    search_fields = ["title", "respondent"]
    readonly_fields = ["organization", "title", "platform", "respondent", "conduct", "opened_by", "opened_at"]
    inlines = [VictimInline]

    def get_inlines(self, request, obj):
        return [VictimInline] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return False

