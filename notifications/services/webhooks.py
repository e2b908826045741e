"""Webhooks: the signature (X-Kameng-Signature, HMAC-SHA256 of the raw body), the URL rules and the POST
(resolved now, every address checked, no redirect followed: notifications/ssrf.py)."""

import hashlib
import hmac
import json
import urllib.parse
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import ssrf
from ..models import Delivery

SIGNATURE_HEADER = "X-Kameng-Signature"


EVENT_HEADER = "X-Kameng-Event"


DELIVERY_HEADER = "X-Kameng-Delivery"


def signature(secret: str, body: bytes) -> str:
    """The value of X-Kameng-Signature: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header or "")


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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
