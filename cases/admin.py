import re
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kameng_api.core.access import may, may_admin
from kameng_api.core.actors import Actor
from kameng_api.core.admin import AccessAdminMixin, OrganizationScopedAdmin, ReadOnlyAdminMixin
from kameng_api.core.audit import audit_record

from . import rules, services
from .admin_forms import CaseIntakeForm
from .admin_workplace import CaseAction, action_endpoint, cached, workplace
from .codes import Outcome, Status
from .models import ApiKey, Case, Claim, Merchant, Organization, Platform, User
from .roles import sync_role_group
from .selectors import assignable_users, consumers_matching

PHONE_SEARCH = re.compile(r"^\+?\d[\d -]{5,18}\d$")
ID_NUMBER_SEARCH = re.compile(r"^\d{17}[\dXx]$")


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def flag(value: bool, *, problem: bool) -> str:
    """A yes/no column as words; only a "yes" that means trouble is marked."""
    if not value:
        return "—"
    return format_html('<span class="km-flag">{}</span>', _("yes")) if problem else str(_("yes"))


@admin.register(Organization)
class OrganizationAdmin(AccessAdminMixin, admin.ModelAdmin):
    """Operators (superusers) only: an organization's staff never see the others."""

    list_display = ["slug", "name", "kind", "level", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(User)
class StaffUserAdmin(AccessAdminMixin, UserAdmin):
    list_display = ["username", "organization", "role", "is_active", "last_login"]
    list_filter = ["organization", "role", "is_active"]
    fieldsets = [*(UserAdmin.fieldsets or ()), (_("Organization and role"), {"fields": ["organization", "role"]})]
    add_fieldsets = [*UserAdmin.add_fieldsets, (_("Organization and role"), {"fields": ["organization", "role"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_role_group(obj)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["organization", "name", "can_read_stats"]


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    """A supervisor creates keys for their own organization only: the organization is not a choice for them."""

    access = {"view": "apikey.manage", "add": "apikey.manage", "change": "apikey.manage"}
    form = ApiKeyForm
    list_display = ["name", "organization", "prefix", "can_read_stats", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        fields = ["name", "can_read_stats", "prefix", "created_at", "last_used_at", "revoked_at"]
        if request.user.is_superuser:
            fields.insert(0, "organization")
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if obj is not None and request.user.is_superuser:
            readonly.append("organization")
        return readonly

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        organization = obj.organization if request.user.is_superuser else request.user.organization
        key, raw = services.api_key_create(organization=organization, name=obj.name,
                                           can_read_stats=obj.can_read_stats)
        obj.pk = key.pk
        obj.organization = organization
        messages.warning(request, _("The key for %(name)s, shown this once: %(key)s") % {"name": key.name, "key": raw})

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(key=key)


class MerchantInline(admin.TabularInline):
    model = Merchant
    extra = 0
    fields = ["name", "shop_url", "unreachable"]


@admin.register(Platform)
class PlatformAdmin(AccessAdminMixin, admin.ModelAdmin):
    access = {"view": "platform.read", "add": "platform.manage", "change": "platform.manage"}
    list_display = ["name", "company_name", "icp_number", "deposit_scheme", "complaint_window_hours",
                    "response_working_days", "is_cross_border"]
    list_filter = ["has_deposit_scheme", "cross_border"]
    search_fields = ["name", "company_name", "credit_code", "icp_number"]
    inlines = [MerchantInline]

    @admin.display(description=_("deposit scheme"), ordering="has_deposit_scheme")
    def deposit_scheme(self, obj):
        return flag(obj.has_deposit_scheme, problem=False)

    @admin.display(description=_("cross-border"), ordering="cross_border")
    def is_cross_border(self, obj):
        return flag(obj.cross_border, problem=False)

    def save_model(self, request, obj, form, change):
        """Through the service (validation, audit row), like `platforms/` over the API."""
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if not change:
            data = {name: getattr(obj, name) for name in form.fields if hasattr(obj, name)}
        saved = services.platform_save(actor=request.user, platform=obj if change else None, data=data)
        obj.pk = saved.pk


@admin.register(Merchant)
class MerchantAdmin(AccessAdminMixin, admin.ModelAdmin):
    access = {"view": "platform.read", "add": "platform.manage", "change": "platform.manage"}
    list_display = ["name", "platform", "is_unreachable"]
    list_filter = ["unreachable", "platform"]
    search_fields = ["name", "platform__name"]
    autocomplete_fields = ["platform"]

    @admin.display(description=_("unreachable"), ordering="unreachable")
    def is_unreachable(self, obj):
        return flag(obj.unreachable, problem=True)

    def save_model(self, request, obj, form, change):
        services.merchant_save(actor=request.user, merchant=obj)


class ClaimInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Claim
    extra = 0
    fields = ["kind", "amount", "flagged"]
    readonly_fields = ["kind", "amount", "flagged"]
    can_delete = False
    verbose_name_plural = _("claims")

    @admin.display(description=_("far beyond the loss"))
    def flagged(self, obj):
        return flag(obj.unreasonable, problem=True)

    def has_view_permission(self, request, obj=None):
        return may_admin(request.user, "case.read")


@admin.register(Case)
class CaseAdmin(OrganizationScopedAdmin):
    access = {"view": "case.read", "add": "case.create", "change": "case.update"}
    change_form_template = "admin/cases/case/change_form.html"
    list_display = ["reference", "platform", "dispute_type", "status", "consumer_masked", "assignee", "waiting",
                    "created_local"]
    list_filter = ["status", "dispute_type", "product_type", "platform", "assignee", "waiting_on_consumer"]
    search_fields = ["reference", "order_number"]
    search_help_text = _("Reference or order number; a consumer's exact phone number, ID number or full name "
                         "(logged).")
    date_hierarchy = "created_at"
    list_select_related = ["platform", "assignee", "consumer"]
    list_per_page = 50
    inlines = [ClaimInline]
    readonly_fields = [
        "reference", "organization", "platform", "merchant", "order_number", "product_type", "face_value",
        "amount_paid", "payment_channel", "purchased_local", "delivered_local", "found_local", "dispute_type",
        "consumer_masked", "status", "filed_by_key", "created_by", "outcome", "amount_recovered", "resolution",
        "consumer_rating", "closed_local", "version", "created_local", "updated_local", "waiting",
        "assignee",
    ]
    fieldsets = [
        (_("The case"), {"fields": [("reference", "status"), ("assignee", "waiting"),
                                    ("created_local", "updated_local", "closed_local")]}),
        (_("The order"), {"fields": [("platform", "merchant"), ("order_number", "product_type"),
                                     ("amount_paid", "face_value", "payment_channel"),
                                     ("purchased_local", "delivered_local", "found_local")]}),
        (_("The dispute"), {"fields": ["dispute_type", "description", "merchant_promise",
                                       ("fraud_suspected", "deception"),
                                       ("key_redeemed_on_receipt", "consumer_is_minor", "for_resale"),
                                       ("consumer_province", "payment_reference", "payee_account"),
                                       "consumer_masked"]}),
        (_("Outcome"), {"classes": ["collapse"], "fields": [("outcome", "amount_recovered", "consumer_rating"),
                                                             "resolution"]}),
        (_("Record"), {"classes": ["collapse"], "fields": [("organization", "filed_by_key", "created_by"),
                                                            "version"]}),
    ]
    add_fieldsets = [
        (_("The order"), {"fields": ["platform", "merchant_name", "order_number", "product_type", "face_value",
                                     "amount_paid", "payment_channel", "purchased_at", "delivered_at",
                                     "problem_found_at"]}),
        (_("The dispute"), {"fields": ["dispute_type", "description", "merchant_promise", "fraud_suspected",
                                       "deception", "key_redeemed_on_receipt", "consumer_is_minor", "for_resale",
                                       "consumer_province", "payment_reference", "payee_account"]}),
        (_("The consumer"), {"fields": ["consumer_name", "consumer_phone", "consumer_id_number"]}),
        (_("Claims"), {"fields": ["claim_refund", "claim_compensation", "claim_redelivery", "claim_punitive"]}),
    ]

    @admin.display(description=_("consumer"))
    def consumer_masked(self, obj):
        consumer = obj.consumer
        return f"{consumer.masked_name} {consumer.masked_phone}".strip()

    @admin.display(description=_("waiting on the consumer"), ordering="waiting_on_consumer")
    def waiting(self, obj):
        return flag(obj.waiting_on_consumer, problem=True)

    @admin.display(description=_("created at"), ordering="created_at")
    def created_local(self, obj):
        return local(obj.created_at)

    @admin.display(description=_("updated at"))
    def updated_local(self, obj):
        return local(obj.updated_at)

    @admin.display(description=_("closed at"))
    def closed_local(self, obj):
        return local(obj.closed_at)

    @admin.display(description=_("purchased at"))
    def purchased_local(self, obj):
        return local(obj.purchased_at)

    @admin.display(description=_("delivered at"))
    def delivered_local(self, obj):
        return local(obj.delivered_at)

    @admin.display(description=_("problem found at"))
    def found_local(self, obj):
        return local(obj.problem_found_at)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and Actor.of(request.user).organization_id is not None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if obj.is_open:
            return self.fieldsets
        closed = []  # nothing to edit: the flag reads as words, not as an icon
        for title, options in self.fieldsets:
            fields = ["fraud_flag" if f == "fraud_suspected" else f for f in options["fields"]]
            closed.append((title, {**options, "fields": fields}))
        return closed

    @admin.display(description=_("signs of fraud"))
    def fraud_flag(self, obj):
        return flag(obj.fraud_suspected, problem=True)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        actor = request.user

        class Form(CaseIntakeForm):
            def __init__(self, *args, **kw):
                super().__init__(*args, actor=actor, **kw)

        return Form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = list(self.readonly_fields)
        if not obj.is_open:
            readonly += ["description", "merchant_promise", "fraud_flag"]
        return readonly

    def get_search_results(self, request, queryset, search_term):
        """A phone number matches exactly, a name in full; both searches of personal data are audit-logged
        (the term itself is not stored in the log)."""
        term = search_term.strip()
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not term or not may(request.user, "consumer.read"):
            return results, may_have_duplicates
        if ID_NUMBER_SEARCH.match(term):
            kind = "id_number"
        elif PHONE_SEARCH.match(term):
            kind = "phone"
        else:
            kind = "name"
        by_consumer = queryset.filter(consumer__in=consumers_matching(kind=kind, value=term))
        found = by_consumer.count()
        if found:
            audit_record(actor=request.user, action="pii_search", obj=request.user.organization,
                         detail={"by": kind, "found": found}, request=request)
            results = results | by_consumer
        return results, may_have_duplicates

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/act/<slug:name>/", view(action_endpoint(self)), name="cases_case_act"),
            path("<path:object_id>/consumer/", view(self.consumer_view), name="cases_case_consumer"),
            *workplace_urls(self),
            *super().get_urls(),
        ]

    def consumer_view(self, request, object_id):
        """The consumer's contact, shown after a deliberate click (POST) that writes the audit row (PIPL)."""
        case = self.get_queryset(request).select_related("consumer").filter(pk=object_id).first() \
            if str(object_id).isdigit() else None
        if case is None or request.method != "POST":
            raise Http404
        if not may(request.user, "consumer.read"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        services.consumer_read_logged(actor=request.user, case=case, request=request)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": case,
                   "case": case, "consumer": case.consumer, "title": _("Consumer of %(ref)s") % {"ref": case.reference}}
        return TemplateResponse(request, "admin/cases/case/consumer.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if case is not None:
            extra_context["workplace_actions"] = workplace.offered(request.user, case)
            extra_context["workplace_panels"] = [
                panel for _order, func in workplace.panels if (panel := func(request, case)) is not None
            ]
            extra_context["may_read_consumer"] = may(request.user, "consumer.read")
        return super().change_view(request, object_id, form_url, extra_context)

    def get_object(self, request, object_id, from_field=None):
        """The case and everything its page shows beside it, in one query."""
        queryset = self.get_queryset(request).select_related(
            "organization", "platform", "merchant__platform", "consumer", "assignee", "created_by", "filed_by_key")
        return queryset.filter(pk=object_id).first() if str(object_id).isdigit() else None

    def save_model(self, request, obj, form, change):
        """Edits go through the services, so the history and the rules are the same as over the API."""
        if not change:
            return  # registered by CaseIntakeForm.clean through services.case_create
        case = Case.objects.get(pk=obj.pk)
        data = {f: form.cleaned_data[f] for f in form.changed_data
                if f in ("description", "merchant_promise", "fraud_suspected", "waiting_on_consumer", "deception",
                         "key_redeemed_on_receipt", "consumer_is_minor", "for_resale", "consumer_province",
                         "payment_reference", "payee_account")}
        if data:
            services.case_update(actor=request.user, case=case, data=data)


def workplace_urls(model_admin):
    """Extra views of other apps on the case (the letter, the bundle, evidence files), registered with the
    workplace: each is (route, view factory, name)."""
    view = model_admin.admin_site.admin_view
    return [path(route, view(factory(model_admin)), name=name) for route, factory, name in WORKPLACE_VIEWS]


WORKPLACE_VIEWS: list = []


# --- the case's own moves -----------------------------------------------------------------------------------

class TransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("new status"), choices=())
    note = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           max_length=2000)

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["to"]).choices = [("", "---------")] + [(t, Status(t).label) for t in targets]


@workplace.action
class TransitionAction(CaseAction):
    name = "transition"
    label = _("Change status")
    access = "case.transition"
    form_class = TransitionForm
    order = 10

    def targets(self, user, case):
        targets = [t for t in rules.allowed_targets(case.status) if t != Status.RESOLVED]
        if not may(user, "escalation.approve_legal"):
            targets = [t for t in targets if t not in rules.SUPERVISOR_ONLY_TARGETS]
        return targets

    def available(self, user, case):
        return case.is_open and bool(self.targets(user, case))

    def form_kwargs(self, request, case):
        return {"targets": self.targets(request.user, case)}

    def run(self, request, case, data):
        return services.case_transition(actor=request.user, case=case, to=data["to"], note=data["note"])


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=[("", "---------"), *Outcome.choices])
    amount_recovered = forms.DecimalField(label=_("amount recovered (CNY)"), required=False, min_value=0,
                                          max_digits=12, decimal_places=2)
    consumer_rating = forms.TypedChoiceField(label=_("the consumer's rating (1-5)"), required=False, coerce=int,
                                             empty_value=None,
                                             choices=[("", "---------")] + [(i, str(i)) for i in range(1, 6)])
    resolution = forms.CharField(label=_("how it ended"), widget=forms.Textarea(attrs={"rows": 3}),
                                 required=False, max_length=2000)

    def __init__(self, *args, amount_paid=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount_paid = amount_paid

    def clean_amount_recovered(self):
        value = self.cleaned_data["amount_recovered"]
        # the service's own rule, checked here too so it shows beside the form's other errors at once
        if value is not None and self.amount_paid is not None and value > rules.recovered_limit(self.amount_paid):
            raise forms.ValidationError(services.recovered_too_large(self.amount_paid))
        return value


@workplace.action
class ResolveAction(CaseAction):
    name = "resolve"
    label = _("Resolve")
    access = "case.resolve"
    form_class = ResolveForm
    order = 60

    def available(self, user, case):
        return Status.RESOLVED in rules.allowed_targets(case.status)

    def form_kwargs(self, request, case):
        return {"amount_paid": case.amount_paid}

    def run(self, request, case, data):
        outcome = {k: data[k] for k in ("outcome", "amount_recovered", "consumer_rating", "resolution")}
        return services.case_transition(actor=request.user, case=case, to=Status.RESOLVED, outcome=outcome)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("assignee"), queryset=User.objects.none(), required=False,
                                      empty_label=_("nobody (unassigned)"))
    note = forms.CharField(label=_("note"), required=False, max_length=500)

    def __init__(self, *args, organization_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = assignable_users(organization_id=organization_id).order_by("username")


@workplace.action
class AssignAction(CaseAction):
    name = "assign"
    label = _("Assign")
    access = "case.assign"
    form_class = AssignForm
    order = 50

    def form_kwargs(self, request, case):
        return {"organization_id": case.organization_id}

    def initial(self, request, case):
        return {"assignee": case.assignee_id}

    def run(self, request, case, data):
        assignee = data["assignee"]
        return services.case_assign(actor=request.user, case=case, assignee_id=assignee.pk if assignee else None,
                                    note=data["note"])


def case_events(case) -> list:
    return cached(case, "events", lambda: list(
        case.events.select_related("actor_user", "actor_key").order_by("occurred_at", "pk")))


@workplace.panel(90)
def history_panel(request, case):
    events = case_events(case)
    return {"template": "admin/cases/case/panel_history.html", "title": _("History"), "events": events,
            "id": "history", "wide": True}

