from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from kameng_api.core.admin import OrganizationScopedAdmin

from . import services
from .admin_forms import CaseIntakeForm
from .models import ApiKey, Case, CaseEvent, Claim, Merchant, Organization, Platform, User
from .roles import sync_role_group


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "organization", "role", "is_active", "last_login"]
    list_filter = ["organization", "role", "is_active"]
    fieldsets = [*UserAdmin.fieldsets, (_("Organization and role"), {"fields": ["organization", "role"]})]
    add_fieldsets = [*UserAdmin.add_fieldsets, (_("Organization and role"), {"fields": ["organization", "role"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_role_group(obj)


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "prefix", "can_read_stats", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    fields = ["organization", "name", "can_read_stats", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.api_key_create(organization=obj.organization, name=obj.name,
                                           can_read_stats=obj.can_read_stats)
        obj.pk = key.pk
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
class PlatformAdmin(admin.ModelAdmin):
    list_display = ["name", "company_name", "icp_number", "has_deposit_scheme", "complaint_window_hours",
                    "response_working_days", "cross_border"]
    list_filter = ["has_deposit_scheme", "cross_border"]
    search_fields = ["name", "company_name", "credit_code", "icp_number"]
    inlines = [MerchantInline]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "unreachable"]
    list_filter = ["unreachable", "platform"]
    search_fields = ["name"]


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ["kind", "amount", "unreasonable"]
    readonly_fields = ["kind", "amount", "unreasonable"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ["occurred_at", "kind", "from_status", "to_status", "note", "actor_user", "actor_key"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("history")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(OrganizationScopedAdmin):
    list_display = ["reference", "platform", "dispute_type", "product_type", "amount_paid", "status", "assignee",
                    "created_at"]
    list_filter = ["status", "dispute_type", "product_type", "platform", "assignee"]
    search_fields = ["reference", "order_number"]
    date_hierarchy = "created_at"
    list_select_related = ["platform", "assignee"]
    inlines = [ClaimInline, CaseEventInline]
    readonly_fields = [
        "reference", "organization", "platform", "merchant", "order_number", "product_type", "face_value",
        "amount_paid", "payment_channel", "purchased_at", "delivered_at", "problem_found_at", "dispute_type",
        "consumer", "status", "filed_by_key", "created_by", "outcome", "amount_recovered", "resolution",
        "consumer_rating", "closed_at", "version", "created_at", "updated_at",
    ]
    fields = ["reference", "organization", "status", "assignee", "platform", "merchant", "order_number",
              "product_type", "face_value", "amount_paid", "payment_channel", "purchased_at", "delivered_at",
              "problem_found_at", "dispute_type", "description", "merchant_promise", "fraud_suspected",
              "deception", "key_redeemed_on_receipt", "consumer_is_minor", "for_resale", "consumer_province",
              "payment_reference", "payee_account", "waiting_on_consumer", "consumer", "outcome", "amount_recovered", "resolution", "consumer_rating",
              "closed_at", "filed_by_key", "created_by", "version", "created_at", "updated_at"]

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

    def has_add_permission(self, request):
        return super().has_add_permission(request) and getattr(request.user, "organization_id", None) is not None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

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
        if request.user.role != "supervisor" and not request.user.is_superuser:
            readonly.append("assignee")
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            from .selectors import assignable_users

            kwargs["queryset"] = assignable_users(organization_id=request.user.organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
        if "assignee" in form.changed_data:
            assignee = form.cleaned_data["assignee"]
            services.case_assign(actor=request.user, case=case, assignee_id=assignee.pk if assignee else None)
