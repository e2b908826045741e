from django.contrib import admin

from .models import AuditLog


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Staff see only their organization's rows in the admin; superusers see all.
    `organization_path` names the lookup from the model to its organization."""

    organization_path = "organization"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        org_id = getattr(request.user, "organization_id", None)
        if org_id is None:
            return qs.none()
        return qs.filter(**{f"{self.organization_path}_id": org_id})


@admin.register(AuditLog)
class AuditLogAdmin(OrganizationScopedAdmin):
    list_display = ["at", "action", "object_type", "object_id", "actor_user", "actor_key", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_user__username"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
