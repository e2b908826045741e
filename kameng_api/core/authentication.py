"""Partner apps authenticate with `Authorization: Api-Key <key>` (API.md, "Access")."""

import hashlib
import hmac
import secrets

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .accounts import api_key_model
from .actors import PartnerPrincipal

KEYWORD = "Api-Key"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """Return (prefix, full key). The prefix finds the row; only the hash of the key is stored."""
    prefix = secrets.token_hex(4)
    return prefix, f"km_{prefix}.{secrets.token_urlsafe(32)}"


def parse_prefix(raw: str) -> str | None:
    if not raw.startswith("km_") or "." not in raw:
        return None
    return raw[3:].split(".", 1)[0]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        ApiKey = api_key_model()  # noqa: N806

        header = authentication.get_authorization_header(request).decode("latin-1", "replace").split()
        if not header or header[0] != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Api-Key header: send 'Api-Key <key>'."))
        raw = header[1]
        prefix = parse_prefix(raw)
        key = (
            ApiKey.objects.select_related("organization").filter(prefix=prefix, revoked_at__isnull=True).first()
            if prefix
            else None
        )
        if key is None or not hmac.compare_digest(key.hashed_key, hash_key(raw)):
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return PartnerPrincipal(key), key

    def authenticate_header(self, request):
        return KEYWORD
