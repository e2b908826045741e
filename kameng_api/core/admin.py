"""The admin's share of the access rules: every page asks the one table (`access.py`) whether the user's
role may view, add or change it, and every organization-scoped page limits its rows, its foreign-key
choices and its list filters to the user's organization."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from kameng_api.core.actors import Actor

from .access import may_admin
from .models import AuditLog

admin.site.site_header = _("Kameng complaints desk")
admin.site.site_title = _("Kameng complaints desk")
admin.site.index_title = _("My work")


def organization_lookup(model) -> str | None:
    """How rows of `model` reach their organization: "pk" for the organization itself, "organization",
    "case__organization", or None for shared rows (platforms, merchants)."""
    if model._meta.label_lower == "cases.organization":
        return "pk"
    for path in ("organization", "case__organization"):
        try:
            model._meta.get_field(path.split("__")[0])
        except FieldDoesNotExist:
            continue
        return "organization_id" if path == "organization" else "case__organization_id"
    return None


def scope_to_organization(qs, user):
    """Rows of `qs` that belong to the user's organization (all for a superuser, none without one)."""
    if user.is_superuser:
        return qs
    lookup = organization_lookup(qs.model)
    if lookup is None:
        return qs
    org_id = Actor.of(user).organization_id
    if org_id is None:
        return qs.none()
    return qs.filter(**{lookup: org_id})


class AccessAdminMixin:
    """`access` maps view/add/change/delete to an action of the table; a missing entry is refused
    (superusers excepted: they administer the site)."""

    access: dict[str, str] = {}

    def _may(self, request, what: str) -> bool:
        action = self.access.get(what)
        if action is None:
            return bool(request.user.is_active and request.user.is_superuser)
        return may_admin(request.user, action)

    def has_module_permission(self, request):
        return any(self._may(request, what) for what in ("view", "add", "change"))

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view") or self.has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._may(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "delete")


class ReadOnlyAdminMixin:
    """Rows only the services write (the evidence chain, alerts, deliveries, summaries): the admin shows
    them and never adds, changes or deletes one. Put it before the access mixin."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganizationScopedAdmin(AccessAdminMixin, admin.ModelAdmin):
    """Staff see only their organization's rows in the admin; superusers see all. The choices of every
    foreign key and every related list filter are limited the same way, so no dropdown lists another
    organization's people, keys or cases."""

    def get_queryset(self, request):
        return scope_to_organization(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_organization(db_field.remote_field.model._default_manager.all(),
                                                       request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_organization(db_field.remote_field.model._default_manager.all(),
                                                       request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        """A filter on a relation to scoped rows (assignee, organization, case) lists only the values
        present in the user's own rows."""
        result = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                try:
                    field = self.model._meta.get_field(item)
                except FieldDoesNotExist:
                    field = None
                if (field is not None and field.is_relation and field.related_model is not None
                        and organization_lookup(field.related_model) is not None):
                    item = (item, admin.RelatedOnlyFieldListFilter)
            result.append(item)
        return result


@admin.register(AuditLog)
class AuditLogAdmin(OrganizationScopedAdmin):
    access = {"view": "auditlog.read"}
    list_display = ["at", "action", "object_type", "object_id", "actor_user", "actor_key", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_user__username"]
    date_hierarchy = "at"
