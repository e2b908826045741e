"""Who reads statistics: analysts and supervisors; a partner key only if granted (ApiKey.can_read_stats).

Intake staff and handlers get 403: they work individual cases, and aggregate reporting is the
analysts' and supervisors' job (least privilege; they can ask a supervisor)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from kameng_api.core.access import may, roles_for
from kameng_api.core.roles import PARTNER

STATS_READERS = roles_for("stats.read") - {PARTNER}


class CanReadStats(BasePermission):
    message = _("Your role does not allow reading statistics.")

    def has_permission(self, request, view):
        return may(request.user, "stats.read")
