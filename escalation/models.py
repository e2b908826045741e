"""The ladder's records: escalations, their deadlines, and the working-day calendar overrides."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.codes import Province

from .codes import Channel, DeadlineKind, DeadlineStatus, EscalationOutcome, Level, RuleKey, SkipReason, Unit


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
    rule_version = models.ForeignKey("RuleVersion", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="deadlines", verbose_name=_("rule version"),
                                     help_text=_("The statutory rule this clock was counted on."))
    day_based = models.BooleanField(
        _("counted in days"), default=False,
        help_text=_("A period in days or months: it ends at the end of its last day, moved to the next working "
                    "day when that day is a holiday (民法典 arts. 201, 203; 民事诉讼法 art. 85)."),
    )
    warning = models.TextField(_("warning"), blank=True,
                               help_text=_("Said at once, e.g. the platform window closes before the merchant's "
                                           "48 hours are over."))
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


class RuleVersion(models.Model):
    """One version of a statutory value (a time limit, a threshold) with the text it comes from.

    A complaint is counted on the version in force on the day it was submitted; a change in the law is a new
    row with its `effective_from`, never an edit of history. `confirmed` is False where the figure or the
    article number could not be checked against an official text: the admin and the API say so."""

    key = models.CharField(_("rule"), max_length=40, choices=RuleKey.choices, db_index=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, null=True, blank=True,
                                help_text=_("Empty for a rule that is a text only (e.g. the double-filing refusal)."))
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    extension = models.DecimalField(_("extension allowed"), max_digits=12, decimal_places=2, null=True,
                                    blank=True, help_text=_("In the same unit, e.g. +1 month for small claims."))
    law = models.CharField(_("law or document"), max_length=200)
    article = models.CharField(_("article"), max_length=100, blank=True)
    quote = models.TextField(_("what the text says"), blank=True)
    source_url = models.URLField(_("source"), max_length=500, blank=True)
    effective_from = models.DateField(_("in force from"))
    effective_to = models.DateField(_("in force until (inclusive)"), null=True, blank=True)
    confirmed = models.BooleanField(
        _("confirmed from an official text"), default=False,
        help_text=_("Unticked: the value or the article is unconfirmed and must be checked by a supervisor."),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["key", "effective_from"]
        constraints = [models.UniqueConstraint(fields=["key", "effective_from"], name="rule_version_unique_start"),
                       models.CheckConstraint(condition=models.Q(effective_to__isnull=True)
                                              | models.Q(effective_to__gte=models.F("effective_from")),
                                              name="rule_version_dates_ordered")]
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")

    def __str__(self):
        flag = "" if self.confirmed else " (unconfirmed)"
        return f"{self.key} {self.value} {self.unit} {self.law}{self.article} from {self.effective_from}{flag}"

    @property
    def citation(self) -> str:
        return f"{self.law}{self.article}"


class SmallClaimsLimit(models.Model):
    """A province's small-claims ceiling: 50 % of its previous year's average wage of the employed (民事诉讼法
    art. 165). Courts publish the figure each year; a supervisor enters or corrects it here."""

    province = models.CharField(_("province"), max_length=2, choices=Province.choices)
    wage_year = models.PositiveSmallIntegerField(_("year of the average wage"))
    average_wage = models.DecimalField(_("average annual wage of the employed (CNY)"), max_digits=12,
                                       decimal_places=2, null=True, blank=True)
    limit = models.DecimalField(_("small-claims limit (CNY)"), max_digits=12, decimal_places=2)
    applies_from = models.DateField(_("applies from"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    confirmed = models.BooleanField(_("confirmed from an official text"), default=False)

    class Meta:
        ordering = ["province", "-applies_from"]
        constraints = [models.UniqueConstraint(fields=["province", "applies_from"],
                                               name="small_claims_limit_unique_start")]
        verbose_name = _("small-claims limit")
        verbose_name_plural = _("small-claims limits")

    def __str__(self):
        return f"{self.province} {self.limit} from {self.applies_from}"


class CalendarYear(models.Model):
    """Whether a year's State Council holiday schedule has been entered in full. Entering one override day
    does not make a year final; this flag does (until then its deadlines stay provisional)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    schedule_entered = models.BooleanField(_("State Council schedule entered"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self):
        return f"{self.year} {'entered' if self.schedule_entered else 'provisional'}"
