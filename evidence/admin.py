"""Evidence in the admin: read-only everywhere (nothing is edited or deleted), shown inline on the case
with an image preview and the hashes. Previews go through an admin view that checks the organization,
because media files are never served publicly."""

from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import CaseAdmin
from kameng_api.core.admin import OrganizationScopedAdmin

from . import filetypes, selectors, services
from .models import Evidence, EvidenceRevocation, EvidenceTimestamp

PREVIEWABLE = frozenset(filetypes.IMAGE) - {"image/heic"}
FIELDS = ["sequence", "kind", "stage", "preview", "original_name", "content_type", "size", "occurred_at",
          "captured_at", "uploaded_by_label", "description", "status", "withdraw_reason", "sha256", "entry_hash", "timestamp_status"]


def preview(obj):
    if obj is None or not obj.pk or filetypes.base_type(obj.content_type) not in PREVIEWABLE:
        return "—"
    url = reverse("admin:evidence_evidence_preview", args=[obj.pk])
    return format_html('<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" '
                       'style="max-width:160px;max-height:120px"></a>', url, url)


preview.short_description = _("preview")


def timestamp_status(obj):
    if obj is None or not obj.pk:
        return "—"
    return selectors.timestamp_status(selectors.item_timestamp(obj))["label"]


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EvidenceInline(ReadOnlyMixin, admin.TabularInline):
    model = Evidence
    fk_name = "case"
    extra = 0
    can_delete = False
    fields = FIELDS
    readonly_fields = FIELDS
    ordering = ["sequence"]
    verbose_name_plural = _("evidence")

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return preview(obj)

    @admin.display(description=_("trusted timestamp"))
    def timestamp_status(self, obj):
        return timestamp_status(obj)


CaseAdmin.inlines = [*CaseAdmin.inlines, EvidenceInline]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    organization_path = "case__organization"
    list_display = ["id", "case", "sequence", "kind", "status", "content_type", "size", "occurred_at",
                    "captured_at", "sha256", "timestamp_status"]
    list_filter = ["status", "kind", "stage"]
    search_fields = ["case__reference", "sha256", "original_name"]
    list_select_related = ["case", "timestamp"]
    fields = ["case", "supersedes", *FIELDS, "prev_hash"]
    readonly_fields = fields

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return preview(obj)

    @admin.display(description=_("trusted timestamp"))
    def timestamp_status(self, obj):
        return timestamp_status(obj)

    def get_urls(self):
        return [path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view),
                     name="evidence_evidence_preview"), *super().get_urls()]

    def preview_view(self, request, pk):
        """Images only, for staff allowed to view this evidence in their organization."""
        if not self.has_view_permission(request):
            raise Http404
        obj = self.get_queryset(request).filter(pk=pk).first()
        if obj is None or filetypes.base_type(obj.content_type) not in PREVIEWABLE:
            raise Http404
        response = FileResponse(default_storage.open(obj.file.name, "rb"), content_type=obj.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(EvidenceRevocation)
class EvidenceRevocationAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    organization_path = "case__organization"
    list_display = ["evidence", "case", "sequence", "action", "reason", "actor_label", "at"]
    fields = ["case", "evidence", "sequence", "action", "reason", "replaced_by", "actor_label", "at", "prev_hash",
              "entry_hash"]
    readonly_fields = fields


@admin.register(EvidenceTimestamp)
class EvidenceTimestampAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    """Read-only: a token never changes. The one action asks for a failed or pending token again, at once."""

    organization_path = "case__organization"
    list_display = ["case", "subject", "sequence", "evidence", "status", "status_label", "gen_time", "tsa_name",
                    "attempts"]
    list_filter = ["status", "subject"]
    search_fields = ["case__reference", "digest", "serial"]
    list_select_related = ["case", "evidence"]
    fields = ["case", "subject", "evidence", "sequence", "digest", "status", "status_label", "gen_time", "tsa_name",
              "tsa_url", "serial", "policy", "nonce", "attempts", "last_error", "next_attempt_at", "created_at",
              "token_size"]
    readonly_fields = fields
    actions = ["retry_now"]

    @admin.display(description=_("status"))
    def status_label(self, obj):
        return selectors.timestamp_status(obj)["label"]

    @admin.display(description=_("token size (bytes)"))
    def token_size(self, obj):
        return len(bytes(obj.token or b""))

    @admin.action(description=_("Request the timestamp again now (failed or pending only)"))
    def retry_now(self, request, queryset):
        count = services.timestamps_retry_now(actor=request.user, queryset=queryset)
        self.message_user(request, _("%(n)s timestamp(s) requested again.") % {"n": count}, messages.SUCCESS)
