"""The audit log: one row per action on an object, and one per response that showed a consumer's personal
data in full (PIPL art. 51; PRODUCT.md "every read of it audit-logged").

Personal data reads are collected, not called per view: whatever renders a consumer unmasked (the case
serializer, the letter) calls `personal_data_shown()`; PersonalDataAuditMiddleware writes one row per
consumer for every successful response that carried them (GET, PATCH, transition, assign, an idempotent
replay, the letter, the bundle, anything added later)."""

from contextvars import ContextVar

from .actors import Actor
from .models import AuditLog


def client_ip(request) -> str | None:
    """The client's address as the trusted proxies report it (security.client_address)."""
    from .security import client_address

    return client_address(request) if request is not None else None


def audit_record(*, actor, action: str, obj, detail: dict | None = None, request=None) -> AuditLog:
    """Write one audit row. `actor` is a staff user or a partner principal."""
    who = Actor.of(actor)
    return AuditLog.objects.create(
        organization_id=who.organization_id,
        actor_user=who.user,
        actor_key=who.api_key,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        detail=detail or {},
        ip_address=client_ip(request),
    )


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
                for consumer, reference in seen.values():
                    audit_record(actor=actor, action="pii_read", obj=consumer, request=request,
                                 detail={"case": reference, "via": f"{request.method} {request.path}"[:200]})
            return response
        finally:
            _shown.reset(token)
