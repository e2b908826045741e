"""The role vocabulary (API.md, "Access"): the staff roles and the role of a partner's API key. Core owns
it so the access table, throttles and the second factor read it without importing an app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTAKE = "intake", _("Intake staff")
    HANDLER = "handler", _("Case handler")
    SUPERVISOR = "supervisor", _("Supervisor")
    ANALYST = "analyst", _("Analyst")


PARTNER = "partner"  # the role of a request made with an API key
