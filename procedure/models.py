"""The organization's own procedure on a case: acceptance (受理), mediation (调解) with its sessions and
clock, the outcome (调解协议 or 终止调解), support to sue (支持起诉), the public-interest file (公益诉讼,
消费者权益保护法 art. 47), and the documents issued at each step."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .codes import (
    Decision,
    DocumentKind,
    RefusalGround,
    SessionMode,
    SessionOutcome,
    Stage,
    SupportStatus,
    TerminationReason,
    Track,
    WaitingOn,
)

USER = settings.AUTH_USER_MODEL


class Procedure(models.Model):
    """One per case of an organization that runs a procedure (a consumer association or a 12315 centre).

    The clocks: the acceptance decision is due `acceptance_units` after registration, the mediation ends
    `mediation_units` after acceptance, each on the rule version in force on the day of registration
    (`rule_on`), plus the units given back by pauses (waiting on a party)."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="procedure",
                                verbose_name=_("case"))
    track = models.CharField(_("procedure"), max_length=30, choices=Track.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.REGISTERED,
                             db_index=True)
    registered_at = models.DateTimeField(_("registered at (登记)"))
    rule_on = models.DateField(_("rules in force on"))
    # acceptance clock
    acceptance_rule = models.ForeignKey("escalation.RuleVersion", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("acceptance rule"))
    acceptance_units = models.PositiveIntegerField(_("acceptance time limit"))
    acceptance_unit = models.CharField(_("unit"), max_length=20)
    acceptance_paused = models.PositiveIntegerField(_("acceptance units given back by pauses"), default=0)
    acceptance_due_at = models.DateTimeField(_("acceptance due at"))
    # the decision
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    refusal_ground = models.CharField(_("ground of refusal"), max_length=30, choices=RefusalGround.choices,
                                      blank=True)
    decision_note = models.TextField(_("reasons and facts"), blank=True)
    forwarded_to = models.CharField(_("forwarded to"), max_length=200, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    approved_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("refusal approved by"))
    # mediation clock
    mediation_rule = models.ForeignKey("escalation.RuleVersion", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("mediation rule"))
    mediation_units = models.PositiveIntegerField(_("mediation time limit"), null=True, blank=True)
    mediation_unit = models.CharField(_("unit"), max_length=20, blank=True)
    mediation_paused = models.PositiveIntegerField(_("mediation units given back by pauses"), default=0)
    mediation_due_at = models.DateTimeField(_("mediation due at"), null=True, blank=True)
    provisional = models.BooleanField(_("provisional (holiday schedule not entered)"), default=False)
    paused_at = models.DateTimeField(_("clock stopped since"), null=True, blank=True)
    paused_waiting_on = models.CharField(_("waiting on"), max_length=20, choices=WaitingOn.choices, blank=True)
    # agreement
    agreement_at = models.DateTimeField(_("agreement signed at"), null=True, blank=True)
    agreement_amount = models.DecimalField(_("amount to pay (CNY)"), max_digits=12, decimal_places=2, null=True,
                                           blank=True, validators=[MinValueValidator(0)])
    agreement_pay_by = models.DateField(_("to be paid by"), null=True, blank=True, db_index=True)
    agreement_terms = models.TextField(_("terms"), blank=True)
    agreement_if_unpaid = models.TextField(_("if not paid by the deadline"), blank=True)
    performed_at = models.DateTimeField(_("performed at"), null=True, blank=True)
    performance_note = models.TextField(_("performance"), blank=True)
    overdue_flagged_at = models.DateTimeField(_("flagged as not performed at"), null=True, blank=True)
    # termination
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    termination_reason = models.CharField(_("reason for termination"), max_length=30,
                                          choices=TerminationReason.choices, blank=True)
    termination_note = models.TextField(_("termination: facts"), blank=True)
    closed_at = models.DateTimeField(_("procedure closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        indexes = [models.Index(fields=["stage", "agreement_pay_by"], name="procedure_agreement_watch_idx")]
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")

    def __str__(self):
        return f"{self.case} {self.get_stage_display()}"

    @property
    def etag(self) -> str:
        return f'"p{self.pk}-{self.version}"'


class Pause(models.Model):
    """A stop of the running clock while the procedure waits on a party (the units are given back on resume)."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="pauses",
                                  verbose_name=_("procedure"))
    clock = models.CharField(_("clock"), max_length=20)
    waiting_on = models.CharField(_("waiting on"), max_length=20, choices=WaitingOn.choices)
    reason = models.TextField(_("reason"), blank=True)
    started_at = models.DateTimeField(_("stopped at"))
    ended_at = models.DateTimeField(_("restarted at"), null=True, blank=True)
    units = models.PositiveIntegerField(_("units given back"), null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("clock pause")
        verbose_name_plural = _("clock pauses")

    def __str__(self):
        return f"{self.procedure_id} {self.clock} {self.started_at:%Y-%m-%d}"


class MediationSession(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="sessions",
                                  verbose_name=_("procedure"))
    held_at = models.DateTimeField(_("held at"))
    mode = models.CharField(_("how"), max_length=10, choices=SessionMode.choices, default=SessionMode.PHONE)
    mediator = models.CharField(_("mediator"), max_length=100, blank=True)
    consumer_attended = models.BooleanField(_("the consumer took part"), default=True)
    merchant_representative = models.CharField(_("merchant's representative"), max_length=200, blank=True)
    other_participants = models.CharField(_("other participants"), max_length=300, blank=True)
    consumer_proposal = models.TextField(_("what the consumer proposed"), blank=True)
    merchant_proposal = models.TextField(_("what the merchant proposed"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=SessionOutcome.choices,
                               default=SessionOutcome.CONTINUE)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["held_at", "id"]
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")

    def __str__(self):
        return f"{self.procedure_id} {self.held_at:%Y-%m-%d %H:%M}"

    @property
    def etag(self) -> str:
        return f'"s{self.pk}-{self.version}"'


class LawsuitSupport(models.Model):
    """支持起诉: the association supports the consumer's lawsuit after mediation failed (消费者权益保护法
    art. 37(1)(7), 民事诉讼法 art. 15). A handler proposes it; a supervisor approves, which issues the opinion."""

    procedure = models.OneToOneField(Procedure, on_delete=models.CASCADE, related_name="support",
                                     verbose_name=_("procedure"))
    court = models.CharField(_("court"), max_length=200)
    facts_found = models.TextField(_("facts the association found"))
    opinion = models.TextField(_("the association's opinion"))
    status = models.CharField(_("status"), max_length=10, choices=SupportStatus.choices,
                              default=SupportStatus.PROPOSED)
    proposed_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("proposed by"))
    approved_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("support to sue")
        verbose_name_plural = _("supports to sue")

    def __str__(self):
        return f"{self.procedure.case} → {self.court}"


class IssuedDocument(models.Model):
    """A document as issued: its number (文号) and its text fixed on the day, in Chinese and the English
    reference version; the .docx is made from the same text."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="issued_documents",
                             verbose_name=_("case"))
    organization = models.ForeignKey("cases.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organization"))
    kind = models.CharField(_("document"), max_length=30, choices=DocumentKind.choices)
    number = models.CharField(_("document number (文号)"), max_length=60)
    year = models.PositiveSmallIntegerField(_("year"))
    serial = models.PositiveIntegerField(_("serial"))
    issued_at = models.DateTimeField(_("issued at"))
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English reference)"))
    issued_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("issued by"))

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "year", "serial"],
                                               name="issued_document_unique_number")]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")

    def __str__(self):
        return self.number


class PublicInterestFile(models.Model):
    """A public-interest action in preparation (消费者权益保护法 art. 47; 民事诉讼法 art. 58): the conduct, the
    respondent, and the victims with their losses. Only an association at provincial level or above."""

    organization = models.ForeignKey("cases.Organization", on_delete=models.PROTECT,
                                     related_name="public_interest_files", verbose_name=_("organization"))
    title = models.CharField(_("title"), max_length=200)
    platform = models.ForeignKey("cases.Platform", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("platform"))
    respondent = models.CharField(_("respondent"), max_length=200)
    conduct = models.TextField(_("the conduct harming many consumers"))
    opened_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("opened by"))
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("public-interest file")
        verbose_name_plural = _("public-interest files")

    def __str__(self):
        return self.title


class Victim(models.Model):
    file = models.ForeignKey(PublicInterestFile, on_delete=models.CASCADE, related_name="victims",
                             verbose_name=_("public-interest file"))
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("case"))
    name = models.CharField(_("name"), max_length=100)
    loss = models.DecimalField(_("loss (CNY)"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    note = models.CharField(_("note"), max_length=300, blank=True)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["file", "case"], name="victim_one_per_case",
                                               condition=models.Q(case__isnull=False))]
        verbose_name = _("victim")
        verbose_name_plural = _("victims")

    def __str__(self):
        from cases.masking import mask_name

        return f"{mask_name(self.name)} {self.loss}"
