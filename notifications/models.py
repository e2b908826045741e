"""Deadline alerts, partner webhook endpoints and the delivery ledger (PRODUCT.md, "Background work").

Every once-only effect has a unique row: an alert is unique per deadline, kind and due date; a delivery
is unique per `dedupe_key` (alert × channel × recipient, event × webhook). Pending work lives here, in
the database, never as far-future ETA tasks in the broker.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .codes import DeliveryChannel, DeliveryStatus


class Alert(models.Model):
    """An in-app alert about one deadline tier (due soon, overdue, late, very late)."""

    organization = models.ForeignKey("cases.Organization", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("organization"))
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="alerts",
                             verbose_name=_("case"))
    deadline = models.ForeignKey("escalation.Deadline", on_delete=models.CASCADE, related_name="alerts",
                                 verbose_name=_("deadline"))
    kind = models.CharField(_("kind"), max_length=20)
    due_at = models.DateTimeField(_("deadline due at"))
    fires_at = models.DateTimeField(_("tier reached at"))
    scan_token = models.UUIDField(editable=False, null=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.CharField(_("acknowledged by"), max_length=160, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    kind_label: str  # not a column: the kind's name, set by selectors.my_work for the admin home

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One alert per deadline and kind, for a given due date: retries, two beat processes or a
            # restarted worker cannot add a second; an extended deadline is alerted again for its new date.
            models.UniqueConstraint(fields=["deadline", "kind", "due_at"], name="alert_once_per_deadline_kind"),
        ]
        indexes = [models.Index(fields=["organization", "acknowledged_at"]),
                   # The alerts list: the organization's, newest first.
                   models.Index(fields=["organization", "-created_at", "-id"], name="alert_list_idx")]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self):
        return f"{self.case_id} {self.kind} {self.due_at:%Y-%m-%d %H:%M}"


class WebhookEndpoint(models.Model):
    """A partner app's receiver. The secret signs every body (HMAC-SHA256); it is shown once."""

    organization = models.ForeignKey("cases.Organization", on_delete=models.CASCADE,
                                     related_name="webhook_endpoints", verbose_name=_("organization"))
    url = models.CharField(_("URL"), max_length=2000)
    events = models.JSONField(_("events"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    created_by_key = models.ForeignKey("cases.ApiKey", on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="webhook_endpoints", verbose_name=_("partner key"))
    created_by_user = models.ForeignKey("cases.User", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("created by"))
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failed attempts"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url[:80]


class Delivery(models.Model):
    """One message to one recipient on one channel, and what happened to it.

    `attempts` is incremented in its own committed transaction *before* each send, so a task that keeps
    killing its worker is counted even though Redis keeps no redelivery count; above the limit the row
    is marked failed and logged."""

    uid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    organization = models.ForeignKey("cases.Organization", on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("organization"))
    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    event_type = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries",
                              verbose_name=_("alert"))
    case_event = models.ForeignKey("cases.CaseEvent", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="+", verbose_name=_("case event"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="deliveries", verbose_name=_("webhook endpoint"))
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name = _("delivery")
        verbose_name_plural = _("delivery log")

    def __str__(self):
        return f"{self.channel} {self.event_type} → {self.recipient or self.endpoint_id} ({self.status})"
