"""The ladder's records: escalations, their deadlines, and the working-day calendar overrides."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .codes import Channel, DeadlineKind, DeadlineStatus, EscalationOutcome, Level, SkipReason


class Escalation(models.Model):
    """One rung of the ladder tried for a case (PRODUCT.md, "escalation")."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="escalations",
                             verbose_name=_("case"))
    channel = models.CharField(_("channel"), max_length=30, choices=Channel.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    submitted_at = models.DateTimeField(_("submitted at"))
    external_reference = models.CharField(_("external reference"), max_length=100, blank=True)
    skip_reason = models.CharField(_("skip reason"), max_length=30, choices=SkipReason.choices, blank=True)
    skip_note = models.TextField(_("skip explanation"), blank=True)
    due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    response = models.TextField(_("response"), blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=EscalationOutcome.choices,
                               default=EscalationOutcome.PENDING)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        indexes = [models.Index(fields=["case", "level"]),
                   models.Index(fields=["updated_at"], name="escalation_updated_at_idx")]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self):
        return f"{self.case_id} L{self.level} {self.channel}"


class Deadline(models.Model):
    """An open clock on a case. Lives in the database (not as far-future ETA tasks), so the periodic
    scan finds every one whatever happens to workers or the broker."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="deadlines",
                             verbose_name=_("case"))
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="deadlines", verbose_name=_("escalation"))
    kind = models.CharField(_("kind"), max_length=30, choices=DeadlineKind.choices)
    starts_at = models.DateTimeField(_("clock starts at"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    late_at = models.DateTimeField(_("late tier at"), null=True, blank=True)
    very_late_at = models.DateTimeField(_("very-late tier at"), null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(_("working days"), null=True, blank=True)
    hours = models.PositiveIntegerField(_("hours"), null=True, blank=True)
    provisional = models.BooleanField(
        _("provisional"), default=False,
        help_text=_("Counted Monday–Friday because the holiday schedule of that year is not entered yet."),
    )
    status = models.CharField(_("status"), max_length=10, choices=DeadlineStatus.choices,
                              default=DeadlineStatus.OPEN, db_index=True)
    suspended_at = models.DateTimeField(_("suspended since"), null=True, blank=True)
    extension_reason = models.TextField(_("extension reason"), blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    # The clock as it runs now: `clock_amount` units (working days if `working_days` is set, else hours)
    # from `clock_from`. A resume or an extension moves these; `starts_at`/`working_days`/`hours` keep the rule.
    clock_from = models.DateTimeField(_("clock counted from"), null=True, blank=True)
    clock_amount = models.PositiveIntegerField(_("clock length"), null=True, blank=True)
    late_amount = models.PositiveIntegerField(_("late tier after the due date"), null=True, blank=True)
    very_late_amount = models.PositiveIntegerField(_("very-late tier after the due date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")

    def __str__(self):
        return f"{self.case_id} {self.kind} {self.due_at:%Y-%m-%d %H:%M}"


class CalendarDay(models.Model):
    """An override of the holiday library: a public holiday or an adjusted working day (调休).
    An entry here wins over the library, so next year's State Council schedule needs no release."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self):
        return f"{self.date} {'work' if self.is_working_day else 'holiday'} {self.name}"
