"""The e-mails of alerts and of a disabled endpoint: Chinese, then English (the recipient's language is not
known)."""

from datetime import datetime

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from escalation.codes import DeadlineKind

from ..codes import AlertTier
from ..models import Delivery

ENDPOINT_DISABLED_EVENT = "endpoint.disabled"


def _local(value: str | None) -> str:
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M") if value else "-"


def _alert_text(payload: dict) -> tuple[str, str]:
    kind = payload["kind"]
    deadline = payload["deadline"]
    try:
        label = str(DeadlineKind(deadline["kind"]).label)
    except ValueError:
        label = deadline["kind"]
    values = {"reference": payload["reference"], "deadline": label, "due_at": _local(deadline["due_at"]),
              "late_at": _local(deadline.get("late_at")), "very_late_at": _local(deadline.get("very_late_at"))}
    if kind.startswith("due_soon_"):
        values["hours"] = kind.removeprefix("due_soon_").removesuffix("h")
        subject = _("Case %(reference)s: deadline due in %(hours)s hours") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s is due in %(hours)s hours, at %(due_at)s.") % values
    elif kind == AlertTier.OVERDUE:
        subject = _("Case %(reference)s: deadline overdue") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s passed at %(due_at)s without an answer.") % values
    elif kind == AlertTier.LATE:
        subject = _("Case %(reference)s: deadline late") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s (due %(due_at)s) is now late "
                 "(since %(late_at)s). Consider escalating.") % values
    else:
        subject = _("Case %(reference)s: deadline very late") % values
        body = _("The deadline “%(deadline)s” of case %(reference)s (due %(due_at)s) is very late "
                 "(since %(very_late_at)s). Escalate to the next level now.") % values
    if deadline.get("provisional"):
        body += "\n" + _("This date is provisional: the holiday schedule of that year is not entered yet.")
    if deadline.get("warning"):
        body += "\n" + deadline["warning"]
    return subject, body


def _disabled_text(payload: dict) -> tuple[str, str]:
    subject = _("Webhook endpoint disabled: %(url)s") % {"url": payload["url"][:100]}
    body = _("The webhook endpoint %(url)s (id %(id)s) failed %(failures)s times in a row and has been "
             "disabled. Fix the receiver, then re-enable it (PATCH is_active=true).") % payload
    return subject, body


def email_content(delivery: Delivery) -> tuple[str, str]:
    """Subject and body in Chinese, then English (the recipient's language is not known)."""
    render = _disabled_text if delivery.event_type == ENDPOINT_DISABLED_EVENT else _alert_text
    parts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            parts.append(render(delivery.payload))
    subject = f"{parts[0][0]} / {parts[1][0]}"
    return subject[:200], f"{parts[0][1]}\n\n——\n\n{parts[1][1]}\n"
