"""The deadline scan: every open clock that reached a new tier gets one alert (a unique row) and its
deliveries, batch by batch, in a constant number of queries per batch."""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cases.codes import OPEN_STATUSES
from cases.models import User
from escalation.codes import DeadlineStatus
from escalation.models import Deadline
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.roles import Role

from ..codes import AlertTier, DeliveryChannel, due_soon_kind, event_of_alert_kind
from ..models import Alert, Delivery
from .ledger import _enqueue_sends
from .subscriptions import _active_endpoints, _subscribed
from .webhooks import _iso

logger = logging.getLogger("notifications.services")


def alert_ack(*, actor: ActorLike, alert: Alert) -> Alert:
    """Acknowledge once; a second acknowledgement changes nothing."""
    updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=Actor.of(actor).name[:160],
    )
    alert.refresh_from_db()
    if updated:
        audit_record(actor=actor, action="alert_ack", obj=alert)
    return alert


def _tier_of(now: datetime, lead_hours: Iterable[int]) -> models.Case:
    """The deadline's current tier, most severe first; '' before the first lead time."""
    whens = [
        models.When(very_late_at__lte=now, then=models.Value(AlertTier.VERY_LATE.value)),
        models.When(late_at__lte=now, then=models.Value(AlertTier.LATE.value)),
        models.When(due_at__lte=now, then=models.Value(AlertTier.OVERDUE.value)),
    ]
    for hours in sorted(lead_hours):
        whens.append(models.When(due_at__lte=now + timedelta(hours=hours),
                                 then=models.Value(due_soon_kind(hours))))
    return models.Case(*whens, default=models.Value(""), output_field=models.CharField())


def _fires_at(row: dict, kind: str) -> datetime:
    if kind == AlertTier.VERY_LATE:
        return row["very_late_at"]
    if kind == AlertTier.LATE:
        return row["late_at"]
    if kind == AlertTier.OVERDUE:
        return row["due_at"]
    return row["due_at"] - timedelta(hours=int(kind.removeprefix("due_soon_").removesuffix("h")))


def _alert_payload(alert_id: int, kind: str, row: dict) -> dict:
    return {
        "alert": alert_id,
        "kind": kind,
        "case": row["case_id"],
        "reference": row["case__reference"],
        "deadline": {
            "id": row["id"], "kind": row["kind"], "due_at": _iso(row["due_at"]),
            "late_at": _iso(row["late_at"]), "very_late_at": _iso(row["very_late_at"]),
            "provisional": row["provisional"], "warning": row.get("warning", ""),
        },
        "fires_at": _iso(_fires_at(row, kind)),
    }


SCAN_FIELDS = (
    "id", "case_id", "kind", "due_at", "late_at", "very_late_at", "provisional", "warning", "tier",
    "case__organization_id", "case__reference", "case__filed_by_key_id",
    "case__assignee__email", "case__assignee__is_active",
)


def deadline_candidates(*, now: datetime, lead_hours: Iterable[int], after_id: int = 0, limit: int = 1000) -> list[dict]:
    """Open, not suspended deadlines of open cases whose current tier has no alert yet: one query."""
    already = Alert.objects.filter(deadline=OuterRef("pk"), kind=OuterRef("tier"), due_at=OuterRef("due_at"))
    return list(
        Deadline.objects.filter(
            status=DeadlineStatus.OPEN, suspended_at__isnull=True, case__status__in=OPEN_STATUSES,
            due_at__lte=now + timedelta(hours=max(lead_hours, default=0)), pk__gt=after_id,
        )
        .annotate(tier=_tier_of(now, lead_hours))
        .exclude(tier="")
        .filter(~Exists(already))
        .order_by("pk")
        .values(*SCAN_FIELDS)[:limit]
    )


def _scan_batch(rows: list[dict], now: datetime) -> tuple[int, int]:
    """Alerts and their deliveries for one batch of candidates, in a constant number of queries."""
    token = uuid.uuid4()
    by_deadline = {row["id"]: row for row in rows}
    Alert.objects.bulk_create(
        [Alert(organization_id=row["case__organization_id"], case_id=row["case_id"], deadline_id=row["id"],
               kind=row["tier"], due_at=row["due_at"], fires_at=_fires_at(row, row["tier"]), scan_token=token)
         for row in rows],
        ignore_conflicts=True,  # another scan got there first: its alert stands, ours is dropped
    )
    created = list(Alert.objects.filter(deadline_id__in=list(by_deadline), scan_token=token)
                   .values_list("id", "deadline_id", "kind"))
    if not created:
        return 0, 0
    org_ids = {by_deadline[d]["case__organization_id"] for _a, d, _k in created}
    unassigned_orgs = {
        by_deadline[d]["case__organization_id"] for _a, d, _k in created
        if not (by_deadline[d]["case__assignee__email"] and by_deadline[d]["case__assignee__is_active"])
    }
    supervisors: dict[int, list[str]] = {}
    if unassigned_orgs:
        for org_id, email in (User.objects.filter(organization_id__in=unassigned_orgs, role=Role.SUPERVISOR,
                                                  is_active=True).exclude(email="")
                              .order_by("pk").values_list("organization_id", "email")):
            supervisors.setdefault(org_id, []).append(email)
    endpoints = _active_endpoints(org_ids)
    deliveries = []
    for alert_id, deadline_id, kind in created:
        row = by_deadline[deadline_id]
        org_id = row["case__organization_id"]
        payload = _alert_payload(alert_id, kind, row)
        event_type = event_of_alert_kind(kind)
        if row["case__assignee__email"] and row["case__assignee__is_active"]:
            recipients = [row["case__assignee__email"]]
        else:
            recipients = supervisors.get(org_id, [])
        for email in dict.fromkeys(recipients):
            deliveries.append(Delivery(
                dedupe_key=f"alert:{alert_id}:email:{email}"[:200], organization_id=org_id,
                channel=DeliveryChannel.EMAIL, recipient=email, event_type=event_type, payload=payload,
                alert_id=alert_id, next_attempt_at=now,
            ))
        for endpoint in endpoints.get(org_id, []):
            if _subscribed(endpoint, event_type, row["case__filed_by_key_id"] is not None):
                deliveries.append(Delivery(
                    dedupe_key=f"alert:{alert_id}:webhook:{endpoint['id']}", organization_id=org_id,
                    channel=DeliveryChannel.WEBHOOK, event_type=event_type, payload=payload,
                    alert_id=alert_id, endpoint_id=endpoint["id"], next_attempt_at=now,
                ))
    # The alerts are new, so their deliveries cannot exist yet: a plain insert that returns the ids.
    Delivery.objects.bulk_create(deliveries)
    _enqueue_sends([d.pk for d in deliveries])
    return len(created), len(deliveries)


def deadline_alerts_scan(*, now: datetime | None = None, batch_size: int | None = None,
                         lead_hours: Iterable[int] | None = None) -> dict:
    """The beat task's work: alert every deadline that reached a new tier, batch by batch.

    Per batch: one candidate query, one INSERT ... ON CONFLICT DO NOTHING of alerts, one read of the
    alerts this batch inserted (by its token), at most one read of supervisors and one of webhook
    endpoints, one INSERT of deliveries, inside one transaction (plus its savepoint) — the same number
    of queries for 10 deadlines or 100,000."""
    now = now or timezone.now()
    batch_size = batch_size or settings.KAMENG_ALERT_SCAN_BATCH
    lead_hours = list(settings.KAMENG_ALERT_LEAD_HOURS if lead_hours is None else lead_hours)
    after_id, totals = 0, {"batches": 0, "alerts": 0, "deliveries": 0}
    while True:
        with transaction.atomic():
            rows = deadline_candidates(now=now, lead_hours=lead_hours, after_id=after_id, limit=batch_size)
            if not rows:
                break
            alerts, deliveries = _scan_batch(rows, now)
        totals["batches"] += 1
        totals["alerts"] += alerts
        totals["deliveries"] += deliveries
        after_id = rows[-1]["id"]
        if len(rows) < batch_size:
            break
    if totals["alerts"]:
        logger.info("deadline scan: %(alerts)s alerts, %(deliveries)s deliveries in %(batches)s batches", totals)
    return totals
