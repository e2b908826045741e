"""What every app shares: the audit log and the idempotency ledger of partner writes.

The organization, user and API key models are named by settings (like AUTH_USER_MODEL), so core names no app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditLog(models.Model):
    """Who read or changed what. PIPL: every read of a consumer's personal data lands here."""

    organization = models.ForeignKey(settings.KAMENG_ORGANIZATION_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="+", verbose_name=_("organization"))
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("user"))
    actor_key = models.ForeignKey(settings.KAMENG_API_KEY_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+", verbose_name=_("partner key"))
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=40)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class IdempotencyRecord(models.Model):
    """A partner write and a reference to its answer, so a retried request with the same Idempotency-Key is
    replayed. No personal data: the fingerprint is a hash of the request, the answer is re-rendered from
    `location` (the created resource) at replay time; `body` only holds answers that name no resource.
    Purged after KAMENG_IDEMPOTENCY_TTL_HOURS (core.idempotency_purge)."""

    api_key = models.ForeignKey(settings.KAMENG_API_KEY_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    location = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return f"{self.key} ({self.status_code or 'pending'})"
