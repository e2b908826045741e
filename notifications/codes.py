"""Alert kinds, webhook events and delivery states: the names partner apps code against."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.codes import EventKind


class AlertTier(models.TextChoices):
    """The tiers after the due-soon ones: the deadline passed, then its late and very-late thresholds."""

    OVERDUE = "overdue", _("Overdue")
    LATE = "late", _("Late")
    VERY_LATE = "very_late", _("Very late")


def due_soon_kind(hours: int) -> str:
    """The alert kind of a lead time, e.g. `due_soon_24h` (lead times are a setting)."""
    return f"due_soon_{hours}h"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


# Webhook events: every alert kind maps to one `deadline.*` event, every case event to `case.<kind>`.
DEADLINE_EVENTS = ("deadline.due_soon", "deadline.overdue", "deadline.late", "deadline.very_late")
CASE_EVENTS = tuple(f"case.{kind}" for kind in EventKind.values)
WEBHOOK_EVENTS = DEADLINE_EVENTS + CASE_EVENTS


def event_of_alert_kind(kind: str) -> str:
    if kind.startswith("due_soon_"):
        return "deadline.due_soon"
    return f"deadline.{kind}"


def event_of_case_event(kind: str) -> str:
    return f"case.{kind}"
