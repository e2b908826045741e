"""Role-based access (API.md, "Roles"). Object scoping is the queryset's job (`for_user`), so another
organization's object is a 404; this class only answers "may this role do this at all" (403)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from cases.codes import PARTNER, Role

INTAKE, HANDLER, SUPERVISOR, ANALYST = Role.INTAKE, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST

CASE_READERS = frozenset({INTAKE, HANDLER, SUPERVISOR, PARTNER})
CASE_WRITERS = frozenset({HANDLER, SUPERVISOR})
CASE_CREATORS = frozenset({INTAKE, HANDLER, SUPERVISOR, PARTNER})
STAFF = frozenset({INTAKE, HANDLER, SUPERVISOR})
SUPERVISORS = frozenset({SUPERVISOR})
EVERYONE = frozenset({INTAKE, HANDLER, SUPERVISOR, ANALYST, PARTNER})


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False) or getattr(user, "organization_id", None) is None:
        return None
    return getattr(user, "role", None) or None


class RolePermission(BasePermission):
    """Views declare `roles = {"<action or method>": {roles}}`; what is not declared is refused."""

    message = _("Your role does not allow this action.")

    def has_permission(self, request, view):
        if not getattr(request.user, "is_authenticated", False):
            return False
        allowed = required_roles(view, request)
        return role_of(request.user) in allowed


def required_roles(view, request) -> frozenset:
    table = getattr(view, "roles", {})
    action = getattr(view, "action", None)
    if action and action in table:
        return frozenset(table[action])
    return frozenset(table.get(request.method.lower(), ()))
