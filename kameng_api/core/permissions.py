"""Role-based access (API.md, "Roles"). Object scoping is the queryset's job (`for_user`), so another
organization's object is a 404; this class only answers "may this role do this at all" (403).

The role sets below are rows of the one table in `access.py`, which the admin reads as well."""

from rest_framework.permissions import BasePermission

from .access import role_of as role_of  # re-exported: older imports read it from here
from .access import roles_for

CASE_READERS = roles_for("case.read")
CASE_WRITERS = roles_for("case.update")
CASE_CREATORS = roles_for("case.create")
STAFF = roles_for("calendar.read")
SUPERVISORS = roles_for("case.assign")
EVERYONE = roles_for("platform.read")


class RolePermission(BasePermission):
    """Views declare `roles = {"<action or method>": {roles}}`; what is not declared is refused."""

    message = "Your role does not allow this action."

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
