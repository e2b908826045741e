"""Evidence of a case: immutable items, their withdrawals, and the per-case hash chain over both.

Chain design: an item's addition and its withdrawal (or supersession) are two separate, chained
entries sharing one per-case sequence. Rows are written once; the only columns that ever change are
the item's current `status` / `withdraw_reason` / `withdrawn_at`, which merely mirror its revocation
entry, and `verify` checks that they agree with it. So a withdrawal is itself tamper-evident and never
rewrites an earlier entry's hash."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.models import ApiKey, Case, User

from .codes import EvidenceKind, EvidenceStatus, Stage

MUTABLE_FIELDS = frozenset({"status", "withdraw_reason", "withdrawn_at"})


class ImmutableQuerySet(models.QuerySet):
    def delete(self):
        raise ValidationError(_("Evidence is never deleted; withdraw it with a reason."))


class ImmutableModel(models.Model):
    """Written once. `save()` of an existing row may touch only `mutable_fields`; nothing is deleted."""

    mutable_fields: frozenset = frozenset()
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.mutable_fields:
                raise ValidationError(_("Evidence is immutable; it can only be withdrawn or superseded."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Evidence is never deleted; withdraw it with a reason."))


class Evidence(ImmutableModel):
    mutable_fields = MUTABLE_FIELDS

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("case"))
    sequence = models.PositiveIntegerField(_("chain sequence"), editable=False)
    kind = models.CharField(_("kind"), max_length=30, choices=EvidenceKind.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    file = models.FileField(_("file"), max_length=255, editable=False)
    original_name = models.CharField(_("original file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.BigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type (sniffed)"), max_length=100)
    occurred_at = models.DateTimeField(_("occurred at"))
    captured_at = models.DateTimeField(_("captured at"))
    uploaded_by_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+", verbose_name=_("uploaded by"))
    uploaded_by_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("uploaded by partner key"))
    uploaded_by_label = models.CharField(_("uploader"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("supersedes"))
    status = models.CharField(_("status"), max_length=12, choices=EvidenceStatus.choices,
                              default=EvidenceStatus.ACTIVE)
    withdraw_reason = models.TextField(_("withdraw reason"), blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    prev_hash = models.CharField(_("previous entry hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["case_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="evidence_unique_sequence"),
            models.UniqueConstraint(fields=["case", "sha256"], condition=~Q(status="withdrawn"),
                                    name="evidence_same_file_once_per_case"),
        ]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.original_name}"


class EvidenceRevocation(ImmutableModel):
    """The chained entry that withdraws or supersedes one item, with the reason and who did it."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_revocations",
                             verbose_name=_("case"))
    evidence = models.OneToOneField(Evidence, on_delete=models.PROTECT, related_name="revocation",
                                    verbose_name=_("evidence"))
    sequence = models.PositiveIntegerField(_("chain sequence"), editable=False)
    action = models.CharField(_("action"), max_length=12, choices=[
        (EvidenceStatus.WITHDRAWN.value, EvidenceStatus.WITHDRAWN.label),
        (EvidenceStatus.SUPERSEDED.value, EvidenceStatus.SUPERSEDED.label),
    ])
    reason = models.TextField(_("reason"))
    replaced_by = models.ForeignKey(Evidence, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("replaced by"))
    actor_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(_("by"), max_length=200)
    at = models.DateTimeField(_("at"))
    prev_hash = models.CharField(_("previous entry hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["case_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["case", "sequence"], name="revocation_unique_sequence")]
        verbose_name = _("evidence withdrawal")
        verbose_name_plural = _("evidence withdrawals")

    def __str__(self):
        return f"{self.action} #{self.evidence_id}"


class EvidenceChain(models.Model):
    """The head of a case's chain. Appends lock this row, so sequences never collide; keeping the head
    and the length here also makes a deleted last entry detectable."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, primary_key=True, related_name="evidence_chain")
    length = models.PositiveIntegerField(default=0)
    head_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("evidence chain")
        verbose_name_plural = _("evidence chains")

    def __str__(self):
        return f"{self.case_id}: {self.length} entries"


class FileCheck(models.Model):
    """One re-hash of every stored file of a case, run in the background (`verify/?deep=true`, and the
    periodic sweep). `verify/` answers from the chain and the last finished check, so a request never
    reads every file of a case: re-hashing gigabytes per call let one caller slow down everyone."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="file_checks", verbose_name=_("case"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(_("requested by"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    intact = models.BooleanField(_("intact"), null=True)
    files_checked = models.PositiveIntegerField(_("files checked"), default=0)
    bytes_checked = models.PositiveBigIntegerField(_("bytes checked"), default=0)
    up_to_sequence = models.PositiveIntegerField(_("up to chain entry"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("file check")
        verbose_name_plural = _("file checks")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["case", "-finished_at"], name="filecheck_case_finished_idx")]
        constraints = [
            # At most one pending check per case: repeated ?deep=true calls join it instead of piling up.
            models.UniqueConstraint(fields=["case"], condition=Q(status__in=["queued", "running"]),
                                    name="filecheck_one_pending_per_case"),
        ]

    def __str__(self):
        return f"{self.case_id}: {self.status}"


class TimestampStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("trusted timestamp", "pending")
    STAMPED = "stamped", pgettext_lazy("trusted timestamp", "stamped")
    FAILED = "failed", pgettext_lazy("trusted timestamp", "failed")


class TimestampSubject(models.TextChoices):
    ITEM = "item", pgettext_lazy("trusted timestamp", "evidence file")
    HEAD = "head", pgettext_lazy("trusted timestamp", "chain head")


class TimestampQuerySet(models.QuerySet):
    def delete(self):
        raise ValidationError(_("Timestamp tokens are never deleted."))

    def update(self, **kwargs):
        if "token" in kwargs or "digest" in kwargs or self.filter(status=TimestampStatus.STAMPED).exists():
            raise ValidationError(_("A timestamp token never changes once it has been received."))
        return super().update(**kwargs)


class EvidenceTimestamp(models.Model):
    """An RFC 3161 token over one evidence file's SHA-256 (`item`) or over one chain head (`head`: the entry
    hash at `sequence`). The row is created pending inside the transaction that made the item or the head,
    and stamped by a task after commit. The token is verified on receipt and written once: a stamped row
    never changes again (save, queryset update and delete all refuse), whatever the admin or a bug tries."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_timestamps",
                             verbose_name=pgettext_lazy("trusted timestamp", "case"))
    subject = models.CharField(pgettext_lazy("trusted timestamp", "what is stamped"), max_length=4, choices=TimestampSubject.choices)
    evidence = models.OneToOneField(Evidence, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="timestamp", verbose_name=pgettext_lazy("trusted timestamp", "evidence"))
    sequence = models.PositiveIntegerField(pgettext_lazy("trusted timestamp", "chain sequence"))
    digest = models.CharField(pgettext_lazy("trusted timestamp", "SHA-256 stamped"), max_length=64)
    status = models.CharField(pgettext_lazy("trusted timestamp", "status"), max_length=8, choices=TimestampStatus.choices,
                              default=TimestampStatus.PENDING)
    attempts = models.PositiveIntegerField(pgettext_lazy("trusted timestamp", "attempts"), default=0)
    next_attempt_at = models.DateTimeField(pgettext_lazy("trusted timestamp", "next attempt"), db_index=True)
    last_error = models.TextField(pgettext_lazy("trusted timestamp", "last error"), blank=True)
    token = models.BinaryField(pgettext_lazy("trusted timestamp", "token (.tsr, DER)"), blank=True, default=b"")
    tsa_url = models.CharField(pgettext_lazy("trusted timestamp", "TSA URL"), max_length=500, blank=True)
    tsa_name = models.CharField(pgettext_lazy("trusted timestamp", "TSA"), max_length=300, blank=True)
    gen_time = models.DateTimeField(pgettext_lazy("trusted timestamp", "stamped at (TSA time)"), null=True, blank=True)
    serial = models.CharField(pgettext_lazy("trusted timestamp", "token serial number"), max_length=80, blank=True)
    nonce = models.CharField(pgettext_lazy("trusted timestamp", "nonce"), max_length=40, blank=True)
    policy = models.CharField(pgettext_lazy("trusted timestamp", "TSA policy"), max_length=200, blank=True)
    created_at = models.DateTimeField(pgettext_lazy("trusted timestamp", "requested at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TimestampQuerySet.as_manager()

    class Meta:
        ordering = ["case_id", "sequence", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], condition=Q(subject="head"),
                                    name="timestamp_one_per_chain_head"),
            models.UniqueConstraint(fields=["evidence"], condition=Q(subject="item"),
                                    name="timestamp_one_per_item"),
            models.CheckConstraint(condition=Q(subject="head", evidence__isnull=True) | Q(subject="item",
                                                                                       evidence__isnull=False),
                                   name="timestamp_item_has_evidence"),
            models.CheckConstraint(condition=~Q(status="stamped") | Q(gen_time__isnull=False),
                                   name="timestamp_stamped_has_time"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="timestamp_due_idx")]
        verbose_name = _("trusted timestamp")
        verbose_name_plural = _("trusted timestamps")

    def __str__(self):
        what = f"#{self.evidence_id}" if self.subject == TimestampSubject.ITEM else f"head {self.sequence}"
        return f"{self.case_id} {what}: {self.status}"

    def save(self, *args, **kwargs):
        if getattr(self, "_stamped_in_db", False):
            raise ValidationError(_("A timestamp token never changes once it has been received."))
        super().save(*args, **kwargs)
        self._stamped_in_db = self.status == TimestampStatus.STAMPED

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Timestamp tokens are never deleted."))

    @classmethod
    def from_db(cls, db, field_names, values):  # type: ignore[override]  # the stubs add Django 6.1's fetch_mode
        instance = super().from_db(db, field_names, values)
        instance._stamped_in_db = instance.status == TimestampStatus.STAMPED if "status" in field_names else True
        return instance
