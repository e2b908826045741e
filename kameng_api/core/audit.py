"""The audit log: one row per action on an object, and one per response that showed a consumer's personal
data in full (PIPL art. 51; PRODUCT.md "every read of it audit-logged").

Personal data reads are collected, not called per view: whatever renders a consumer unmasked (the case
serializer, the letter) calls `personal_data_shown()`; PersonalDataAuditMiddleware writes one row per
consumer for every successful response that carried them (GET, PATCH, transition, assign, an idempotent
replay, the letter, the bundle, anything added later)."""

import functools
import json
from contextvars import ContextVar

from django.db import connections, router
from django.utils import timezone

from .actors import Actor
from .models import AuditLog


def client_ip(request) -> str | None:
    """The client's address as the trusted proxies report it (security.client_address)."""
    from .security import client_address

    return client_address(request) if request is not None else None


def audit_record(*, actor, action: str, obj, detail: dict | None = None, request=None) -> None:
    """Write one audit row. `actor` is a staff user or a partner principal."""
    _audit_write(actor=actor, action=action, request=request,
                 rows=[(obj._meta.model_name, str(obj.pk), detail or {})])


def audit_reads(*, actor, request, shown: list[tuple]) -> None:
    """The `pii_read` rows of one response (`shown`: (consumer, detail) pairs)."""
    _audit_write(actor=actor, action="pii_read", request=request,
                 rows=[(obj._meta.model_name, str(obj.pk), detail) for obj, detail in shown])


_COLUMNS = ("organization_id", "actor_user_id", "actor_key_id", "action", "object_type", "object_id", "detail",
            "ip_address", "at")


@functools.cache
def _insert_sql() -> str:
    table = AuditLog._meta.db_table
    return (f'INSERT INTO "{table}" ({", ".join(_COLUMNS)}) '  # noqa: S608 - names from the model
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s)")


def _audit_write(*, actor, action: str, request, rows: list[tuple[str, str, dict]]) -> None:
    """Audit rows are written on every read of a case and every change: on PostgreSQL one prepared INSERT
    per row (parsed and planned once per connection, no model instance), in the caller's transaction;
    elsewhere through the ORM. The rows are the same either way."""
    who = Actor.of(actor)
    ip = client_ip(request)
    now = timezone.now()
    connection = connections[router.db_for_write(AuditLog)]
    if connection.vendor != "postgresql":
        AuditLog.objects.bulk_create([AuditLog(
            organization_id=who.organization_id, actor_user=who.user, actor_key=who.api_key, action=action,
            object_type=object_type, object_id=object_id, detail=detail, ip_address=ip, at=now)
            for object_type, object_id, detail in rows])
        return
    from .rendered import execute_prepared

    sql = _insert_sql()
    user_id = who.user.pk if who.user is not None else None
    key_id = who.api_key.pk if who.api_key is not None else None
    for object_type, object_id, detail in rows:
        execute_prepared(connection, sql, [who.organization_id, user_id, key_id, action, object_type, object_id,
                                           json.dumps(detail), ip, now])


_shown: ContextVar[dict | None] = ContextVar("personal_data_shown", default=None)


def personal_data_shown(*, consumer, case) -> None:
    """Note that this response carries `consumer`'s data in full (outside a request: nothing to note)."""
    seen = _shown.get()
    if seen is not None and consumer is not None and consumer.pk is not None:
        seen.setdefault(consumer.pk, (consumer, getattr(case, "reference", "")))


class PersonalDataAuditMiddleware:
    """Writes the `pii_read` rows of a request once its answer is known to be a success. A 201 that is not
    an idempotent replay echoes what the caller has just sent and is not a read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _shown.set({})
        try:
            response = self.get_response(request)
            seen = _shown.get() or {}
            echoed = response.status_code == 201 and not response.has_header("Idempotent-Replayed")
            if seen and 200 <= response.status_code < 300 and not echoed:
                actor = getattr(request, "user", None)
                via = f"{request.method} {request.path}"[:200]
                audit_reads(actor=actor, request=request,
                            shown=[(consumer, {"case": reference, "via": via}) for consumer, reference in seen.values()])
            return response
        finally:
            _shown.reset(token)
