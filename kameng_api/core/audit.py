from .models import AuditLog


def client_ip(request) -> str | None:
    """The client's address as the trusted proxies report it (security.client_address)."""
    from .security import client_address

    return client_address(request) if request is not None else None


def audit_record(*, actor, action: str, obj, detail: dict | None = None, request=None) -> AuditLog:
    """Write one audit row. `actor` is a staff user or a partner principal."""
    api_key = getattr(actor, "api_key", None)
    return AuditLog.objects.create(
        organization_id=getattr(actor, "organization_id", None),
        actor_user=None if api_key is not None or not getattr(actor, "is_authenticated", False) else actor,
        actor_key=api_key,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        detail=detail or {},
        ip_address=client_ip(request),
    )
