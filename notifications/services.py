"""Deadline alerts and their delivery: the scan, the delivery ledger, email and signed webhooks.

Reliability rules (PRODUCT.md, "each sent once, none lost if a worker dies"):
- an alert is a unique row (deadline, kind, due date), inserted set-based with ON CONFLICT DO NOTHING;
- each message is a Delivery row, unique per dedupe key, written in the same transaction as its cause,
  and its task is enqueued only on commit;
- a send first counts the attempt in its own committed transaction, then sends while holding the row
  lock (SELECT ... FOR UPDATE SKIP LOCKED) and marks it sent, so a second run finds it sent and exits;
- a periodic sweep re-enqueues pending deliveries whose time has come, whatever happened to the task.
"""

import hashlib
import hmac
import json
import logging
import secrets
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.codes import OPEN_STATUSES, Role
from cases.models import Actor, CaseEvent, User
from escalation.codes import DeadlineKind, DeadlineStatus
from escalation.models import Deadline
from kameng_api.core.audit import audit_record
from kameng_api.core.preconditions import check_if_match
from kameng_api.core.tasks import enqueue

from . import ssrf
from .codes import (
    AlertTier,
    DeliveryChannel,
    DeliveryStatus,
    due_soon_kind,
    event_of_alert_kind,
    event_of_case_event,
)
from .models import Alert, Delivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Kameng-Signature"
EVENT_HEADER = "X-Kameng-Event"
DELIVERY_HEADER = "X-Kameng-Delivery"
ENDPOINT_DISABLED_EVENT = "endpoint.disabled"
FAN_OUT_CHUNK = 500
_random = secrets.SystemRandom()


# --- signatures, back-off, URLs -------------------------------------------------------------------------

def signature(secret: str, body: bytes) -> str:
    """The value of X-Kameng-Signature: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header or "")


def backoff_seconds(attempts: int, *, base: int | None = None, cap: int | None = None, rand: float | None = None) -> float:
    """Exponential back-off with "equal jitter": the n-th retry waits between half and all of
    min(cap, base × 2^(n-1)), so retries of many deliveries that failed together spread out."""
    base = settings.KAMENG_DELIVERY_BACKOFF_BASE if base is None else base
    cap = settings.KAMENG_DELIVERY_BACKOFF_CAP if cap is None else cap
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    r = _random.random() if rand is None else rand
    return ceiling / 2 + r * ceiling / 2


def webhook_url_check(url: str, *, block_private: bool | None = None) -> str:
    """http/https only, a host, no credentials; with KAMENG_WEBHOOK_BLOCK_PRIVATE (on in production) the
    host must resolve only to public addresses, so a partner cannot make the server call its own network."""
    block_private = settings.KAMENG_WEBHOOK_BLOCK_PRIVATE if block_private is None else block_private
    url = (url or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError({"url": _("This is not a valid URL.")}) from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError({"url": _("Only http and https URLs are allowed.")})
    if not parts.hostname:
        raise ValidationError({"url": _("The URL has no host.")})
    if parts.username or parts.password:
        raise ValidationError({"url": _("The URL must not contain a user name or password.")})
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValidationError({"url": _("This is not a valid URL.")})
    if block_private:
        try:
            addresses = ssrf.resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                     block_private=False)
        except ssrf.AddressRefused:
            raise ValidationError({"url": _("The host of this URL cannot be resolved.")}) from None
        if not all(ssrf.address_is_public(address) for address in addresses):
            raise ValidationError({"url": _(
                "This URL points at a private, loopback or reserved address; use a public address."
            )})
    return url


# --- webhook endpoints ----------------------------------------------------------------------------------

def webhook_create(*, actor: Actor, url: str, events: list[str], description: str = "") -> tuple[WebhookEndpoint, str]:
    """Return the endpoint and its signing secret, which the API shows this once."""
    url = webhook_url_check(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    api_key = getattr(actor, "api_key", None)
    if actor.organization_id is None:  # a staff user of no organization (a superuser) has no endpoints
        raise PermissionDenied
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization_id=actor.organization_id, url=url, events=sorted(set(events)), description=description,
            secret=secret, created_by_key=api_key,
            created_by_user=actor if isinstance(actor, User) else None,
        )
        audit_record(actor=actor, action="webhook_create", obj=endpoint, detail={"url": url})
    return endpoint, secret


def webhook_update(*, actor: Actor, endpoint: WebhookEndpoint, data: dict, if_match: str | None = None) -> WebhookEndpoint:
    if "url" in data:
        data["url"] = webhook_url_check(data["url"])
    if "events" in data:
        data["events"] = sorted(set(data["events"]))
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        check_if_match(endpoint, if_match, what=_("webhook endpoint"))
        for field in ("url", "events", "description"):
            if field in data:
                setattr(endpoint, field, data[field])
        if "is_active" in data:
            if data["is_active"] and not endpoint.is_active:
                endpoint.consecutive_failures = 0
                endpoint.disabled_at = None
                endpoint.disabled_reason = ""
            endpoint.is_active = data["is_active"]
        endpoint.save()
        audit_record(actor=actor, action="webhook_update", obj=endpoint, detail={"fields": sorted(data)})
    return endpoint


def webhook_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="webhook_delete", obj=endpoint, detail={"url": endpoint.url})
        endpoint.delete()


def _subscribed(endpoint: Mapping[str, Any], event_type: str, case_filed_by_key: bool) -> bool:
    """An endpoint a partner key created hears only about cases filed through partner keys (what that
    key may read); a supervisor's endpoint hears about every case of the organization."""
    if event_type not in (endpoint["events"] or []):
        return False
    return endpoint["created_by_key_id"] is None or case_filed_by_key


def _active_endpoints(organization_ids: Iterable[int]) -> dict[int, list[Mapping[str, Any]]]:
    by_org: dict[int, list[Mapping[str, Any]]] = {}
    rows = WebhookEndpoint.objects.filter(organization_id__in=organization_ids, is_active=True).values(
        "id", "organization_id", "events", "created_by_key_id"
    )
    for row in rows:
        by_org.setdefault(row["organization_id"], []).append(row)
    return by_org


# --- alerts ---------------------------------------------------------------------------------------------

def alert_ack(*, actor: Actor, alert: Alert) -> Alert:
    """Acknowledge once; a second acknowledgement changes nothing."""
    updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=str(getattr(actor, "username", actor))[:160],
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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


# --- case events to webhooks ----------------------------------------------------------------------------

def event_publish(event: CaseEvent) -> CaseEvent:
    """Write one delivery per subscribed webhook of the case's organization, sent on commit.
    Called by cases.services.case_event_record for every case event; returns the event."""
    case = event.case
    event_type = event_of_case_event(event.kind)
    endpoints = [e for e in _active_endpoints([case.organization_id]).get(case.organization_id, [])
                 if _subscribed(e, event_type, case.filed_by_key_id is not None)]
    if not endpoints:
        return event
    payload = {
        "case": case.pk,
        "reference": case.reference,
        "status": case.status,
        "event": {
            "id": event.pk, "kind": event.kind, "from_status": event.from_status, "to_status": event.to_status,
            "occurred_at": _iso(event.occurred_at), "data": json.loads(json.dumps(event.data, default=str)),
        },
    }
    now = timezone.now()
    rows = Delivery.objects.bulk_create([
        Delivery(dedupe_key=f"event:{event.pk}:webhook:{e['id']}", organization_id=case.organization_id,
                 channel=DeliveryChannel.WEBHOOK, event_type=event_type, payload=payload, case_event=event,
                 endpoint_id=e["id"], next_attempt_at=now)
        for e in endpoints
    ])
    _enqueue_sends([row.pk for row in rows])
    return event


# --- sending ----------------------------------------------------------------------------------------------

def _enqueue_sends(ids: list[int]) -> None:
    from . import tasks

    ids = [i for i in ids if i is not None]
    if len(ids) == 1:
        enqueue(tasks.delivery_send, ids[0])
    for start in range(0, len(ids) if len(ids) > 1 else 0, FAN_OUT_CHUNK):
        enqueue(tasks.deliveries_fan_out, ids[start:start + FAN_OUT_CHUNK])


def webhook_body(delivery: Delivery) -> bytes:
    """The exact bytes sent and signed; the same for every attempt of a delivery."""
    document = {
        "id": str(delivery.uid),
        "event": delivery.event_type,
        "created_at": _iso(delivery.created_at),
        "data": delivery.payload,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _post_webhook(delivery: Delivery) -> int:
    """Resolved now, every address checked, connected to a checked address, no redirect followed
    (notifications/ssrf.py): what the endpoint pointed at when it was saved does not matter."""
    endpoint = delivery.endpoint
    assert endpoint is not None, "a webhook delivery has an endpoint"
    webhook_url_check(endpoint.url, block_private=False)  # the URL's shape; addresses are checked below
    body = webhook_body(delivery)
    return ssrf.post(
        endpoint.url, body,
        {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Kameng-Webhooks/1",
            SIGNATURE_HEADER: signature(endpoint.secret, body),
            EVENT_HEADER: delivery.event_type,
            DELIVERY_HEADER: str(delivery.uid),
        },
        timeout=settings.KAMENG_WEBHOOK_TIMEOUT, block_private=settings.KAMENG_WEBHOOK_BLOCK_PRIVATE,
    )


def _local(value: str | None) -> str:
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M") if value else "-"


def _alert_text(payload: dict) -> tuple[str, str]:
    kind = payload["kind"]
    deadline = payload["deadline"]
    try:
        label = str(DeadlineKind(deadline["kind"]).label)
    except ValueError:
        label = deadline["kind"]
    values = {"reference": payload["reference"], "deadline": label, "due_at": _local(deadline["due_at"]),
              "late_at": _local(deadline.get("late_at")), "very_late_at": _local(deadline.get("very_late_at"))}
    if kind.startswith("due_soon_"):
        values["hours"] = kind.removeprefix("due_soon_").removesuffix("h")
        subject = _("Case %(reference)s: deadline due in %(hours)s hours") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s is due in %(hours)s hours, at %(due_at)s.") % values
    elif kind == AlertTier.OVERDUE:
        subject = _("Case %(reference)s: deadline overdue") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s passed at %(due_at)s without an answer.") % values
    elif kind == AlertTier.LATE:
        subject = _("Case %(reference)s: deadline late") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s (due %(due_at)s) is now late "
                 "(since %(late_at)s). Consider escalating.") % values
    else:
        subject = _("Case %(reference)s: deadline very late") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s (due %(due_at)s) is very late "
                 "(since %(very_late_at)s). Escalate to the next level now.") % values
    if deadline.get("provisional"):
        body += "\n" + _("This date is provisional: the holiday schedule of that year is not entered yet.")
    if deadline.get("warning"):
        body += "\n" + deadline["warning"]
    return subject, body


def _disabled_text(payload: dict) -> tuple[str, str]:
    subject = _("Webhook endpoint disabled: %(url)s") % {"url": payload["url"][:100]}
    body = _("The webhook endpoint %(url)s (id %(id)s) failed %(failures)s times in a row and has been "
             "disabled. Fix the receiver, then re-enable it (PATCH is_active=true).") % payload
    return subject, body


def email_content(delivery: Delivery) -> tuple[str, str]:
    """Subject and body in Chinese, then English (the recipient's language is not known)."""
    render = _disabled_text if delivery.event_type == ENDPOINT_DISABLED_EVENT else _alert_text
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            parts.append(render(delivery.payload))
    subject = f"{parts[0][0]} / {parts[1][0]}"
    return subject[:200], f"{parts[0][1]}\n\n——\n\n{parts[1][1]}\n"


def _send(delivery: Delivery) -> tuple[bool, int | None, str]:
    if delivery.channel == DeliveryChannel.EMAIL:
        subject, body = email_content(delivery)
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [delivery.recipient],
                               headers={DELIVERY_HEADER: str(delivery.uid)})
        message.send(fail_silently=False)
        return True, None, ""
    code = _post_webhook(delivery)
    if 200 <= code < 300:
        return True, code, ""
    return False, code, f"HTTP {code}"


def _endpoint_failed(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Count a failed attempt; past the limit, disable the endpoint once and tell the supervisors."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = WebhookEndpoint.objects.values_list("consecutive_failures", flat=True).get(pk=endpoint.pk)
    if failures < settings.KAMENG_WEBHOOK_DISABLE_AFTER:
        return
    reason = f"{failures} failed attempts in a row"
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason,
    ):
        return
    logger.warning("webhook endpoint %s disabled after %s failed attempts", endpoint.pk, failures)
    Delivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error="endpoint disabled")
    payload = {"id": endpoint.pk, "url": endpoint.url, "failures": failures}
    emails = (User.objects.filter(organization_id=endpoint.organization_id, role=Role.SUPERVISOR, is_active=True)
              .exclude(email="").values_list("email", flat=True))
    rows = Delivery.objects.bulk_create([
        Delivery(dedupe_key=f"disabled:{endpoint.pk}:{now.timestamp():.0f}:email:{email}"[:200],
                 organization_id=endpoint.organization_id, channel=DeliveryChannel.EMAIL, recipient=email,
                 event_type=ENDPOINT_DISABLED_EVENT, payload=payload, next_attempt_at=now)
        for email in dict.fromkeys(emails)
    ], ignore_conflicts=True)
    _enqueue_sends([row.pk for row in rows])


def delivery_attempt(*, delivery_id: int, max_attempts: int | None = None) -> str:
    """Send one delivery at most once. Returns what happened: sent, retry, failed or skipped."""
    from . import tasks

    max_attempts = max_attempts or settings.KAMENG_DELIVERY_MAX_ATTEMPTS
    now = timezone.now()
    # 1. Claim and count the attempt, committed before anything leaves: a send that kills its worker
    #    is still counted, and the row gives up after `max_attempts`.
    with transaction.atomic():
        row = (Delivery.objects.select_for_update(skip_locked=True)
               .filter(pk=delivery_id, status=DeliveryStatus.PENDING).first())
        if row is None:
            return "skipped"  # sent or failed already, or another worker holds it right now
        if row.next_attempt_at > now:
            return "skipped"  # a retry that is not due yet; its task or the sweep comes back
        if row.attempts >= max_attempts:
            row.status = DeliveryStatus.FAILED
            row.last_error = (f"gave up after {row.attempts} attempts (the worker may have died while "
                              f"sending){': ' + row.last_error if row.last_error else ''}")[:500]
            row.save(update_fields=["status", "last_error", "updated_at"])
            logger.error("delivery %s (%s %s) failed after %s attempts", row.pk, row.channel, row.event_type,
                         row.attempts)
            return "failed"
        Delivery.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, updated_at=now)
    # 2. Send while holding the row lock, then mark the outcome in the same transaction.
    retry_in = None
    with transaction.atomic():
        row = (Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("endpoint")
               .filter(pk=delivery_id, status=DeliveryStatus.PENDING).first())
        if row is None:
            return "skipped"
        now = timezone.now()
        if row.channel == DeliveryChannel.WEBHOOK and (row.endpoint is None or not row.endpoint.is_active):
            row.status, row.last_error = DeliveryStatus.FAILED, "endpoint disabled"
            row.save(update_fields=["status", "last_error", "updated_at"])
            return "failed"
        try:
            ok, code, error = _send(row)
        except Exception as exc:  # network, DNS, SMTP, a refused URL: all count as a failed attempt
            ok, code, error = False, None, f"{exc.__class__.__name__}: {exc}"
        row.last_status_code = code
        if ok:
            row.status, row.sent_at, row.last_error = DeliveryStatus.SENT, now, ""
            if row.endpoint is not None and row.endpoint.consecutive_failures:
                WebhookEndpoint.objects.filter(pk=row.endpoint.pk).update(consecutive_failures=0)
            result = "sent"
        else:
            row.last_error = error[:500]
            if row.attempts >= max_attempts:
                row.status = DeliveryStatus.FAILED
                logger.error("delivery %s failed after %s attempts: %s", row.pk, row.attempts, error)
                result = "failed"
            else:
                retry_in = backoff_seconds(row.attempts)
                row.next_attempt_at = now + timedelta(seconds=retry_in)
                result = "retry"
            if row.endpoint is not None:
                _endpoint_failed(row.endpoint, now)
        row.save(update_fields=["status", "sent_at", "last_error", "last_status_code", "next_attempt_at",
                                "updated_at"])
        if retry_in is not None:
            # A short countdown, well under the broker's visibility timeout; the sweep is the safety net.
            transaction.on_commit(lambda: _retry_later(tasks.delivery_send, delivery_id, retry_in))
    return result


def _retry_later(task: Any, delivery_id: int, seconds: float) -> None:
    try:
        task.apply_async(args=[delivery_id], countdown=min(seconds, 600))
    except Exception:
        logger.exception("could not enqueue the retry of delivery %s; the sweep will", delivery_id)


def deliveries_sweep(*, now: datetime | None = None, grace: timedelta | None = None, limit: int = 5000) -> int:
    """Re-enqueue pending deliveries that are due and older than a grace period: created but never sent
    (the broker lost the task, the worker died) or a retry whose countdown task went missing."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.KAMENG_DELIVERY_SWEEP_GRACE) if grace is None else grace
    ids = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    _enqueue_sends(ids)
    if ids:
        logger.info("delivery sweep: %s pending deliveries re-enqueued", len(ids))
    return len(ids)
