"""Reads of alerts, webhook endpoints and their delivery log, always organization-scoped."""

from datetime import datetime

from django.db.models import QuerySet

from cases.models import Case, User
from kameng_api.core.actors import Actor, Reader

from .models import Alert, Delivery, WebhookEndpoint


def alert_list(*, user: Reader) -> QuerySet[Alert]:
    """The alerts of the cases `user` may read (a partner key: partner-filed cases only).

    An alert carries its case's organization, so staff, who read all of their organization's cases, get
    the organization's alerts straight from the alert list index (organization, newest first) instead of
    a join with every case; a partner key still goes through its cases."""
    cases = Case.objects.for_user(user)
    org_id = Actor.of(user).organization_id
    if cases.query.is_empty() or org_id is None:
        return Alert.objects.none()
    qs = Alert.objects.filter(organization_id=org_id)
    if Actor.of(user).is_partner:
        qs = qs.filter(case_id__in=cases.values("pk"))
    return qs.select_related("case", "deadline")


def webhook_list(*, user: Reader) -> QuerySet[WebhookEndpoint]:
    """Supervisors manage all of their organization's endpoints; a partner key only its own."""
    who = Actor.of(user)
    if who.organization_id is None:
        return WebhookEndpoint.objects.none()
    qs = WebhookEndpoint.objects.filter(organization_id=who.organization_id)
    if who.is_partner:
        qs = qs.filter(created_by_key=who.api_key)
    return qs


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")


def my_work(*, user: User, now: datetime | None = None, limit: int = 15) -> dict:
    """The admin home of a staff member: their open clocks by urgency (overdue, due within 24 h, later), new
    unassigned cases (supervisors), unacknowledged alerts and cases waiting on the consumer for too long.
    Theirs = cases assigned to them; a supervisor also answers for the unassigned ones."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Min, Q
    from django.utils import timezone

    from cases.codes import OPEN_STATUSES
    from escalation.codes import DeadlineStatus
    from escalation.models import Deadline
    from kameng_api.core.roles import Role

    now = now or timezone.now()
    cases = Case.objects.for_user(user)
    supervisor = Actor.of(user).role == Role.SUPERVISOR
    mine = Q(assignee=user) | Q(assignee__isnull=True) if supervisor else Q(assignee=user)
    my_cases = cases.filter(mine)
    clocks = (Deadline.objects.filter(case__in=my_cases.values("pk"), status=DeadlineStatus.OPEN,
                                      suspended_at__isnull=True)
              .select_related("case").order_by("due_at"))
    soon = now + timedelta(hours=24)
    buckets = {
        "overdue": clocks.filter(due_at__lte=now),
        "soon": clocks.filter(due_at__gt=now, due_at__lte=soon),
        "later": clocks.filter(due_at__gt=soon),
    }
    result = {name: {"rows": list(qs[:limit]), "count": qs.count()} for name, qs in buckets.items()}
    if supervisor:
        unassigned = cases.filter(assignee__isnull=True, status__in=OPEN_STATUSES).select_related("platform") \
            .order_by("-created_at")
        result["unassigned"] = {"rows": list(unassigned[:limit]), "count": unassigned.count()}
    alerts = (Alert.objects.filter(case_id__in=my_cases.values("pk"), acknowledged_at__isnull=True)
              .select_related("case", "deadline").order_by("-created_at"))
    rows = list(alerts[:limit])
    for alert in rows:
        alert.kind_label = alert_kind_label(alert.kind)
    result["alerts"] = {"rows": rows, "count": alerts.count()}
    days = getattr(settings, "KAMENG_WAITING_TOO_LONG_DAYS", 7)
    waiting = (my_cases.filter(waiting_on_consumer=True, status__in=OPEN_STATUSES)
               .annotate(waiting_since=Min("deadlines__suspended_at"))
               .filter(Q(waiting_since__lte=now - timedelta(days=days))
                       | Q(waiting_since__isnull=True, updated_at__lte=now - timedelta(days=days)))
               .order_by("updated_at"))
    result["waiting"] = {"rows": list(waiting[:limit]), "count": waiting.count(), "days": days}
    return result


def alert_kind_label(kind: str) -> str:
    """`overdue`, `late`, `very_late` by their names; `due_soon_<n>h` as "due within n h"."""
    from django.utils.translation import gettext

    from .codes import AlertTier

    if kind in AlertTier.values:
        return str(AlertTier(kind).label)
    if kind.startswith("due_soon_"):
        return gettext("due within %(hours)s h") % {"hours": kind.removeprefix("due_soon_").removesuffix("h")}
    return kind
