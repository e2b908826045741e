"""Per-organization retention settings and the record of each retention run (PIPL art. 19)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Organization

from . import rules


class PrivacySettings(models.Model):
    class EvidenceFiles(models.TextChoices):
        KEEP = rules.EvidenceFiles.KEEP, _("kept as long as the case record")
        DELETE = rules.EvidenceFiles.DELETE, _("deleted when the consumer's data is anonymized")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, primary_key=True,
                                        related_name="privacy_settings", verbose_name=_("organization"))
    anonymize_after_days = models.PositiveIntegerField(
        _("anonymize personal data (days after the case closed)"), default=rules.ANONYMIZE_AFTER_DAYS,
        validators=[MinValueValidator(rules.ANONYMIZE_MIN_DAYS), MaxValueValidator(100 * 365)],
        help_text=_("PIPL art. 19: no longer than needed. Default 3 years (the limitation period of a claim)."),
    )
    evidence_files = models.CharField(_("evidence files"), max_length=10, choices=EvidenceFiles.choices,
                                      default=EvidenceFiles.KEEP)
    audit_log_days = models.PositiveIntegerField(
        _("keep the audit log (days)"), default=rules.AUDIT_LOG_DAYS,
        validators=[MinValueValidator(rules.AUDIT_LOG_MIN_DAYS), MaxValueValidator(100 * 365)],
        help_text=_("Cybersecurity Law art. 21: at least six months (183 days)."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("personal data retention")
        verbose_name_plural = _("personal data retention")
        constraints = [
            models.CheckConstraint(condition=models.Q(audit_log_days__gte=rules.AUDIT_LOG_MIN_DAYS),
                                   name="privacy_audit_log_at_least_six_months"),
        ]

    def __str__(self):
        return str(self.organization)


class RetentionRun(models.Model):
    """What one run of the retention task did for one organization: counts only, never a value."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="retention_runs",
                                     verbose_name=_("organization"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    closed_before = models.DateTimeField(_("cases closed before"))
    consumers_anonymized = models.PositiveIntegerField(_("consumers anonymized"), default=0)
    evidence_files_deleted = models.PositiveIntegerField(_("evidence files deleted"), default=0)
    audit_rows_deleted = models.PositiveIntegerField(_("audit log rows deleted"), default=0)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self):
        return f"{self.organization} {self.started_at:%Y-%m-%d %H:%M}"
