"""The delivery ledger: one Delivery row per message, sent at most once, retried with back-off, swept
when its task went missing."""

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases.models import User
from kameng_api.core.roles import Role
from kameng_api.core.tasks import enqueue

from ..codes import DeliveryChannel, DeliveryStatus
from ..models import Delivery, WebhookEndpoint
from .emails import ENDPOINT_DISABLED_EVENT, email_content
from .webhooks import DELIVERY_HEADER, _post_webhook

logger = logging.getLogger("notifications.services")


FAN_OUT_CHUNK = 500


_random = secrets.SystemRandom()


def backoff_seconds(attempts: int, *, base: int | None = None, cap: int | None = None,
                    rand: float | None = None) -> float:
    """Exponential back-off with "equal jitter": the n-th retry waits between half and all of
    min(cap, base × 2^(n-1)), so retries of many deliveries that failed together spread out."""
    base = settings.KAMENG_DELIVERY_BACKOFF_BASE if base is None else base
    cap = settings.KAMENG_DELIVERY_BACKOFF_CAP if cap is None else cap
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    r = _random.random() if rand is None else rand
    return ceiling / 2 + r * ceiling / 2


def _enqueue_sends(ids: list[int]) -> None:
    from .. import tasks

    ids = [i for i in ids if i is not None]
    if len(ids) == 1:
        enqueue(tasks.delivery_send, ids[0])
    for start in range(0, len(ids) if len(ids) > 1 else 0, FAN_OUT_CHUNK):
        enqueue(tasks.deliveries_fan_out, ids[start:start + FAN_OUT_CHUNK])


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
    from .. import tasks

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
