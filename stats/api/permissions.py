"""Who reads statistics: analysts and supervisors; a partner key only if granted (ApiKey.can_read_stats).

Intake staff and handlers get 403: they work individual cases, and aggregate reporting is the
analysts' and supervisors' job (least privilege; they can ask a supervisor)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from cases.codes import PARTNER, Role
from kameng_api.core.permissions import role_of

STATS_READERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


class CanReadStats(BasePermission):
    message = _("Your role does not allow reading statistics.")

    def has_permission(self, request, view):
        role = role_of(request.user)
        if role in STATS_READERS:
            return True
        if role == PARTNER:
            key = getattr(request.user, "api_key", None)
            return bool(key and key.can_read_stats)
        return False
