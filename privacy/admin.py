"""Retention settings and runs, and the person's rights as actions on the case list (supervisors)."""

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.admin import CaseAdmin
from cases.models import Consumer
from kameng_api.core.access import may_admin
from kameng_api.core.admin import OrganizationScopedAdmin
from kameng_api.core.exceptions import DomainError

from . import services
from .models import PrivacySettings, RetentionRun


@admin.register(PrivacySettings)
class PrivacySettingsAdmin(OrganizationScopedAdmin):
    access = {"view": "privacy.settings", "add": "privacy.settings", "change": "privacy.settings"}
    list_display = ["organization", "anonymize_after_days", "evidence_files", "audit_log_days", "updated_at"]

    def get_fields(self, request, obj=None):
        fields = ["anonymize_after_days", "evidence_files", "audit_log_days"]
        return (["organization", *fields] if request.user.is_superuser and obj is None else fields)

    def has_add_permission(self, request, *args):
        if not super().has_add_permission(request, *args):
            return False
        org_id = getattr(request.user, "organization_id", None)
        return request.user.is_superuser or (
            org_id is not None and not PrivacySettings.objects.filter(organization_id=org_id).exists())

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.organization_id = request.user.organization_id
        super().save_model(request, obj, form, change)


@admin.register(RetentionRun)
class RetentionRunAdmin(OrganizationScopedAdmin):
    access = {"view": "privacy.settings"}
    readonly_fields = ["started_at", "organization", "closed_before", "consumers_anonymized",
                       "evidence_files_deleted", "audit_rows_deleted", "finished_at"]
    list_display = [*readonly_fields]


def _consumers_of(queryset) -> list[Consumer]:
    return list(Consumer.objects.filter(cases__in=queryset).distinct().order_by("pk"))


@admin.action(description=_("Export the consumers' personal data (ZIP, PIPL art. 45)"),
              permissions=["privacy_rights"])
def subject_export_action(model_admin, request, queryset):
    consumers = _consumers_of(queryset)
    content, _cases = services.subject_export(actor=request.user, consumers=consumers, request=request)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{timezone.localdate():%Y%m%d}.zip"'
    return response


@admin.action(description=_("Erase the consumers' personal data (PIPL art. 47)"), permissions=["privacy_rights"])
def subject_erase_action(model_admin, request, queryset):
    try:
        done = services.subject_erase(actor=request.user, consumers=_consumers_of(queryset), request=request)
    except DomainError as exc:  # a refusal of the service (legal_hold)
        model_admin.message_user(request, str(exc), messages.ERROR)
        return None
    model_admin.message_user(request, _("Personal data erased for %(n)d consumer records.") % {"n": done},
                             messages.SUCCESS)
    return None


def _has_privacy_rights_permission(self, request):
    return may_admin(request.user, "privacy.rights")


# The case list carries the rights actions; cases/ cannot import privacy/, so they are attached here.
CaseAdmin.has_privacy_rights_permission = _has_privacy_rights_permission  # type: ignore[attr-defined]  # attached at run time; the admin finds it by the action's permission name
CaseAdmin.actions = [*(CaseAdmin.actions or []), subject_export_action, subject_erase_action]  # type: ignore[misc]  # a class attribute (the stubs declare it per instance: ClassVar cannot hold a type variable)
