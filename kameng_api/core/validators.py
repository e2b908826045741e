"""Checks every app applies the same way."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# A client's clock may run this far ahead of the server's; a time later than that has not happened yet.
CLOCK_SKEW = timedelta(minutes=5)


def is_future(value: datetime | None, now: datetime | None = None) -> bool:
    """Is `value` (when something happened) later than now, the clock skew allowed?"""
    return value is not None and value > (now or timezone.now()) + CLOCK_SKEW


def future_message() -> str:
    return _("This time is in the future.")


def not_in_future(value: datetime | None, *, field: str | None = None, now: datetime | None = None) -> None:
    """Refuse a time that has not happened yet: on `field` for a service, on the field itself for a form."""
    if is_future(value, now):
        if field is not None:
            raise ValidationError({field: future_message()})
        raise ValidationError(future_message(), code="future")
