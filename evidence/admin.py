"""Evidence in the admin: read-only everywhere (nothing is edited or deleted), shown inline on the case
with an image preview and the hashes. Previews go through an admin view that checks the organization,
because media files are never served publicly."""

from django.contrib import admin
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import CaseAdmin
from kameng_api.core.admin import OrganizationScopedAdmin

from . import filetypes
from .models import Evidence, EvidenceRevocation
from .storage import open_stored

PREVIEWABLE = frozenset(filetypes.IMAGE) - {"image/heic"}
FIELDS = ["sequence", "kind", "stage", "preview", "original_name", "content_type", "size", "occurred_at",
          "captured_at", "uploaded_by_label", "description", "status", "withdraw_reason", "sha256", "entry_hash"]


def preview(obj):
    if obj is None or not obj.pk or filetypes.base_type(obj.content_type) not in PREVIEWABLE:
        return "—"
    url = reverse("admin:evidence_evidence_preview", args=[obj.pk])
    return format_html('<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" '
                       'style="max-width:160px;max-height:120px"></a>', url, url)


preview.short_description = _("preview")


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


CaseAdmin.inlines = [*CaseAdmin.inlines, EvidenceInline]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    organization_path = "case__organization"
    list_display = ["id", "case", "sequence", "kind", "status", "content_type", "size", "occurred_at",
                    "captured_at", "sha256"]
    list_filter = ["status", "kind", "stage"]
    search_fields = ["case__reference", "sha256", "original_name"]
    list_select_related = ["case"]
    fields = ["case", "supersedes", *FIELDS, "prev_hash"]
    readonly_fields = fields

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return preview(obj)

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
        response = FileResponse(open_stored(obj.file.name), content_type=obj.content_type)
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
