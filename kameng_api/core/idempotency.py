"""Idempotent partner writes (PRODUCT.md: "Partner writes are idempotent (Idempotency-Key header)").

The first request with a key runs; a retry with the same key and the same request (a file's SHA-256
included) gets the first answer again: its status, `Location` and `ETag`, header
`Idempotent-Replayed: true`, and the body re-rendered from the created resource (so no personal data is
kept in the record, and the replay is audit-logged like any read). The same key with a different
request, or while the first is still running, is a 409. Records are purged after
KAMENG_IDEMPOTENCY_TTL_HOURS (task core.idempotency_purge).

Several web nodes: the key is claimed by a committed row, so a retry sent to another node sees it. The
write and its recorded answer commit in one transaction: a node that dies in the middle leaves neither, only
the claim, which is taken over by a retry once it is older than KAMENG_IDEMPOTENCY_STALE_SECONDS.
"""

import copy
import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from kameng_api.core.actors import Actor

from .exceptions import Conflict
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _fingerprint(request) -> str:
    items = []
    for name in sorted(request.data.keys()) if hasattr(request.data, "keys") else []:
        values = request.data.getlist(name) if hasattr(request.data, "getlist") else [request.data.get(name)]
        rendered = []
        for value in values:
            if hasattr(value, "read") and hasattr(value, "size"):
                value = {"file": getattr(value, "name", ""), "size": value.size,
                         "sha256": getattr(value, "sha256", None) or _sha256_of(value)}
            rendered.append(value)
        items.append((name, rendered))
    raw = json.dumps([request.method, request.path, items], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _sha256_of(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _replay(request, record: IdempotencyRecord) -> Response:
    """The first answer: re-rendered by a GET of the resource it created, with the first status."""
    if record.location:
        try:
            match = resolve(record.location)
        except Resolver404:
            match = None
        if match is not None:
            inner = copy.copy(request._request)
            inner.method = "GET"
            inner.path = inner.path_info = record.location
            inner.GET = QueryDict()
            inner.META = {**inner.META, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
            response = match.func(inner, *match.args, **match.kwargs)
            if 200 <= response.status_code < 300:
                replay = Response(response.data, status=record.status_code)
                if response.has_header("ETag"):
                    replay["ETag"] = response["ETag"]
                replay["Location"] = record.location
                replay["Idempotent-Replayed"] = "true"
                return replay
        raise Conflict(_("The resource this Idempotency-Key created is no longer available."),
                       code="idempotency_target_gone")
    replay = Response(record.body, status=record.status_code)
    replay["Idempotent-Replayed"] = "true"
    return replay


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
        api_key = Actor.of(request.user).api_key
        if not key or api_key is None:
            return method(self, request, *args, **kwargs)
        if len(key) > 255:
            raise ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        fingerprint = _fingerprint(request)
        IdempotencyRecord.objects.filter(api_key=api_key, key=key, created_at__lt=expiry()).delete()
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
                return _replay(request, record)
        try:
            with transaction.atomic():
                response = method(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    record.status_code = response.status_code
                    record.location = response.get("Location", "") if response.has_header("Location") else ""
                    record.body = None if record.location else json.loads(json.dumps(response.data, default=str))
                    record.save(update_fields=["status_code", "location", "body"])
        except Exception:
            record.delete()
            raise
        if not 200 <= response.status_code < 300:
            record.delete()
        return response

    return wrapper


def expiry():
    return timezone.now() - timedelta(hours=settings.KAMENG_IDEMPOTENCY_TTL_HOURS)


def idempotency_purge() -> int:
    """Forget records older than the replay window (they hold only hashes and references)."""
    deleted, _counts = IdempotencyRecord.objects.filter(created_at__lt=expiry()).delete()
    return deleted
