"""Deadline alerts and their delivery: the scan, the delivery ledger, email and signed webhooks.

Reliability rules (PRODUCT.md, "each sent once, none lost if a worker dies"):
- an alert is a unique row (deadline, kind, due date), inserted set-based with ON CONFLICT DO NOTHING;
- each message is a Delivery row, unique per dedupe key, written in the same transaction as its cause,
  and its task is enqueued only on commit;
- a send first counts the attempt in its own committed transaction, then sends while holding the row
  lock (SELECT ... FOR UPDATE SKIP LOCKED) and marks it sent, so a second run finds it sent and exits;
- a periodic sweep re-enqueues pending deliveries whose time has come, whatever happened to the task.

The modules: `webhooks` (signing and the POST), `subscriptions` (endpoints and case events), `scan` (the
deadline scan and alerts), `ledger` (deliveries: send once, retry, sweep), `emails` (the texts).
"""

from .emails import ENDPOINT_DISABLED_EVENT, email_content
from .ledger import FAN_OUT_CHUNK, backoff_seconds, deliveries_sweep, delivery_attempt
from .scan import SCAN_FIELDS, alert_ack, deadline_alerts_scan, deadline_candidates
from .subscriptions import event_publish, webhook_create, webhook_delete, webhook_update
from .webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature,
    signature_valid,
    webhook_body,
    webhook_url_check,
)

__all__ = [
    "DELIVERY_HEADER", "ENDPOINT_DISABLED_EVENT", "EVENT_HEADER", "FAN_OUT_CHUNK", "SCAN_FIELDS", "SIGNATURE_HEADER",
    "alert_ack", "backoff_seconds", "deadline_alerts_scan", "deadline_candidates", "deliveries_sweep",
    "delivery_attempt", "email_content", "event_publish", "signature", "signature_valid", "webhook_body",
    "webhook_create", "webhook_delete", "webhook_update", "webhook_url_check",
]
