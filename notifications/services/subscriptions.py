"""Who hears what: webhook endpoints (created, changed, deleted through here) and the publication of every
case event to the endpoints subscribed to it."""

import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import CaseEvent
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.preconditions import check_if_match

from ..codes import DeliveryChannel, event_of_case_event
from ..models import Delivery, WebhookEndpoint
from .ledger import _enqueue_sends
from .webhooks import _iso, webhook_url_check


def webhook_create(*, actor: ActorLike, url: str, events: list[str], description: str = "") -> tuple[WebhookEndpoint, str]:
    """Return the endpoint and its signing secret, which the API shows this once."""
    url = webhook_url_check(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    who = Actor.of(actor)
    if who.organization_id is None:  # a staff user of no organization (a superuser) has no endpoints
        raise PermissionDenied
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization_id=who.organization_id, url=url, events=sorted(set(events)), description=description,
            secret=secret, **who.fks("created_by_user", "created_by_key"),
        )
        audit_record(actor=actor, action="webhook_create", obj=endpoint, detail={"url": url})
    return endpoint, secret


def webhook_update(*, actor: ActorLike, endpoint: WebhookEndpoint, data: dict, if_match: str | None = None) -> WebhookEndpoint:
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


def webhook_delete(*, actor: ActorLike, endpoint: WebhookEndpoint) -> None:
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


def event_publish(event: CaseEvent) -> CaseEvent:
    """Write one delivery per subscribed webhook of the case's organization, sent on commit.
    Runs on every case event (cases.events.case_event_recorded, notifications/receivers.py)."""
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
