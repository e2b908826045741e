"""Idempotent partner writes (PRODUCT.md: "Partner writes are idempotent (Idempotency-Key header)").

The first request with a key runs and its 2xx answer is stored; a retry with the same key and the same
body gets the stored answer back (header `Idempotent-Replayed: true`); the same key with a different body,
or while the first is still running, is a 409.

Several web nodes: the key is claimed by a committed row, so a retry sent to another node sees it. The
write and its stored answer commit in one transaction: a node that dies in the middle leaves neither, only
the claim, which is taken over by a retry once it is older than KAMENG_IDEMPOTENCY_STALE_SECONDS.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .exceptions import Conflict
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _fingerprint(request) -> str:
    items = []
    for name in sorted(request.data.keys()) if hasattr(request.data, "keys") else []:
        value = request.data.get(name)
        if hasattr(value, "read") and hasattr(value, "size"):
            value = {"file": getattr(value, "name", ""), "size": value.size}
        items.append((name, value))
    raw = json.dumps([request.method, request.path, items], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _take_over(record: IdempotencyRecord) -> bool:
    """Claim a pending key whose request was abandoned (its node died); only one retry wins."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.KAMENG_IDEMPOTENCY_STALE_SECONDS)
    won = IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True,
                                           created_at__lt=stale_before).update(created_at=now)
    return won == 1


def idempotent(method):
    @functools.wraps(method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        api_key = getattr(request.user, "api_key", None)
        if not key or api_key is None:
            return method(self, request, *args, **kwargs)
        if len(key) > 255:
            raise ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(api_key=api_key, key=key, fingerprint=fingerprint)
        except IntegrityError:
            record = IdempotencyRecord.objects.get(api_key=api_key, key=key)
            if record.fingerprint != fingerprint:
                raise Conflict(
                    _("This Idempotency-Key was already used for a different request."),
                    code="idempotency_key_reused",
                ) from None
            if record.status_code is None and not _take_over(record):
                raise Conflict(
                    _("A request with this Idempotency-Key is still being processed."),
                    code="idempotency_in_progress",
                ) from None
            if record.status_code is not None:
                response = Response(record.body, status=record.status_code)
                response["Idempotent-Replayed"] = "true"
                return response
        try:
            with transaction.atomic():
                response = method(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    record.status_code = response.status_code
                    record.body = json.loads(json.dumps(response.data, default=str))
                    record.save(update_fields=["status_code", "body"])
        except Exception:
            record.delete()
            raise
        if not 200 <= response.status_code < 300:
            record.delete()
        return response

    return wrapper
