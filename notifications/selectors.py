"""Reads of alerts, webhook endpoints and their delivery log, always organization-scoped."""

from django.db.models import QuerySet

from cases.codes import PARTNER
from cases.models import Case

from .models import Alert, Delivery, WebhookEndpoint


def alert_list(*, user) -> QuerySet[Alert]:
    """The alerts of the cases `user` may read (a partner key: partner-filed cases only).

    An alert carries its case's organization, so staff, who read all of their organization's cases, get
    the organization's alerts straight from the alert list index (organization, newest first) instead of
    a join with every case; a partner key still goes through its cases."""
    cases = Case.objects.for_user(user)
    if cases.query.is_empty():
        return Alert.objects.none()
    qs = Alert.objects.filter(organization_id=user.organization_id)
    if getattr(user, "role", None) == PARTNER:
        qs = qs.filter(case_id__in=cases.values("pk"))
    return qs.select_related("case", "deadline")


def webhook_list(*, user) -> QuerySet[WebhookEndpoint]:
    """Supervisors manage all of their organization's endpoints; a partner key only its own."""
    org_id = getattr(user, "organization_id", None)
    if org_id is None:
        return WebhookEndpoint.objects.none()
    qs = WebhookEndpoint.objects.filter(organization_id=org_id)
    if getattr(user, "role", None) == PARTNER:
        qs = qs.filter(created_by_key=user.api_key)
    return qs


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
