"""Writes to evidence: adopt an uploaded file into storage, append to the case's hash chain, withdraw.

Storage and hashing live here (STYLE.md): the upload handler has already hashed the bytes in the same
pass that wrote them; the service decides whether the file is acceptable, moves it to a random,
unguessable storage name, and appends the chained entry under a lock on the case row."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException

from cases.codes import EventKind
from cases.models import Case
from cases.services import case_event_record
from escalation.codes import DeadlineKind
from escalation.services import deadline_meet
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict, PayloadTooLarge
from kameng_api.core.tasks import enqueue

from . import chain, filetypes, selectors
from .codes import KIND_STAGE, MAY_PRECEDE_PURCHASE, EvidenceStatus, Stage
from .models import Evidence, EvidenceChain, EvidenceRevocation, FileCheck
from .uploads import HashedUpload

CLOCK_SKEW = timedelta(minutes=5)
MAX_REASON = 2000


class UnsupportedFileType(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = gettext_lazy("This type of file is not accepted.")
    default_code = "file_type_not_allowed"


def actor_label(actor) -> str:
    api_key = getattr(actor, "api_key", None)
    if api_key is not None:
        return f"api-key:{api_key.prefix}"
    return f"user:{actor.get_username()}" if getattr(actor, "pk", None) else "system"


def _actor_fks(actor, user_field: str, key_field: str) -> dict:
    api_key = getattr(actor, "api_key", None)
    if api_key is not None:
        return {key_field: api_key}
    return {user_field: actor if getattr(actor, "pk", None) else None}


def storage_name() -> str:
    """Random, unguessable, and carrying nothing of the upload (no name, no extension, no case id)."""
    token = secrets.token_urlsafe(32)
    return f"evidence/{token[:2]}/{token}"


def _adopt(upload: HashedUpload) -> str:
    """Move the received temporary file to its storage name (a rename on the local filesystem)."""
    name = storage_name()
    if isinstance(default_storage, FileSystemStorage):
        target = Path(default_storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(upload.temporary_file_path(), target)
        os.chmod(target, 0o640)
        return name
    with open(upload.temporary_file_path(), "rb") as fh:
        return default_storage.save(name, File(fh))


def _check_file(upload: HashedUpload, kind: str) -> str:
    if upload.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    content_type = filetypes.sniff(upload.head, complete=upload.size <= len(upload.head))
    if filetypes.is_text(content_type) and upload.has_nul:
        content_type = "application/octet-stream"
    if not filetypes.allowed(kind, content_type):
        accepted = ", ".join(sorted(filetypes.ALLOWED.get(kind, ())))
        raise UnsupportedFileType(
            _("This file is %(type)s (judged from its content, not its name); %(kind)s evidence may be: "
              "%(accepted)s.") % {"type": filetypes.base_type(content_type), "kind": kind, "accepted": accepted}
        )
    return content_type


def _check_time(case: Case, kind: str, occurred_at, now) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise ValidationError({"occurred_at": _("This time is in the future.")})
    if kind not in MAY_PRECEDE_PURCHASE and occurred_at < case.purchased_at:
        raise ValidationError({"occurred_at": _(
            "This is before the purchase (%(purchased)s); only platform rules and similar complaints may be older "
            "than the order."
        ) % {"purchased": timezone.localtime(case.purchased_at).strftime("%Y-%m-%d %H:%M")}})


def _check_open(case: Case) -> None:
    if not case.is_open:
        raise Conflict(_("The case is closed (%(status)s); its evidence can no longer change.")
                       % {"status": case.status}, code="case_closed")


def _duplicate(case: Case, sha256: str) -> None:
    existing = Evidence.objects.filter(case=case, sha256=sha256).exclude(status=EvidenceStatus.WITHDRAWN).first()
    if existing is not None:
        raise Conflict(_("The same file is already evidence #%(id)s of this case (SHA-256 %(sha)s).")
                       % {"id": existing.pk, "sha": sha256}, code="duplicate_evidence")


def _clean_reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: _("Give a reason.")})
    if len(reason) > MAX_REASON:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": MAX_REASON}})
    return reason


class CaseQuotaExceeded(PayloadTooLarge):
    default_code = "case_quota_exceeded"


def case_quota_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_CASE_QUOTA_BYTES", 2 * 1024**3))


def quota_exceeded(used: int, size: int) -> CaseQuotaExceeded:
    quota = case_quota_bytes()
    return CaseQuotaExceeded(
        _("This case already holds %(used)s MB of evidence; %(size)s MB more would pass its quota of %(quota)s MB "
          "(EVIDENCE_CASE_QUOTA_BYTES).")
        % {"used": round(used / 1024**2, 1), "size": round(size / 1024**2, 1), "quota": round(quota / 1024**2, 1)},
        code="case_quota_exceeded",
    )


def _check_quota(case: Case, size: int) -> None:
    """Every stored byte counts (withdrawn and superseded files are kept). Called under the case lock, so
    two parallel uploads cannot both slip under the quota."""
    used = selectors.case_evidence_bytes(case)
    if used + size > case_quota_bytes():
        raise quota_exceeded(used, size)


def _locked_chain(case: Case) -> tuple[Case, EvidenceChain]:
    case = Case.objects.select_for_update().get(pk=case.pk)
    head, _created = EvidenceChain.objects.get_or_create(case=case, defaults={"head_hash": chain.GENESIS})
    return case, head


def _advance(head: EvidenceChain, entry_hash: str) -> None:
    head.length += 1
    head.head_hash = entry_hash
    head.save(update_fields=["length", "head_hash", "updated_at"])


def _revoke(*, actor, case: Case, head: EvidenceChain, evidence: Evidence, action: str, reason: str,
            replaced_by: Evidence | None, now) -> EvidenceRevocation:
    sequence = head.length + 1
    by = actor_label(actor)
    entry = chain.revocation_entry(
        case_reference=case.reference, sequence=sequence, prev=head.head_hash, action=action,
        evidence_seq=evidence.sequence, reason=reason, replaced_by=replaced_by.sequence if replaced_by else None,
        by=by, at=now,
    )
    digest = chain.entry_hash(entry)
    revocation = EvidenceRevocation.objects.create(
        case=case, evidence=evidence, sequence=sequence, action=action, reason=reason, replaced_by=replaced_by,
        actor_label=by, at=now, prev_hash=head.head_hash, entry_hash=digest,
        **_actor_fks(actor, "actor_user", "actor_key"),
    )
    _advance(head, digest)
    evidence.status = action
    evidence.withdraw_reason = reason
    evidence.withdrawn_at = now
    evidence.save(update_fields=["status", "withdraw_reason", "withdrawn_at"])
    case_event_record(case=case, actor=actor, kind=EventKind.EVIDENCE_WITHDRAWN, note=reason, occurred_at=now,
                      data={"evidence": evidence.pk, "status": action,
                            "replaced_by": replaced_by.pk if replaced_by else None})
    return revocation


def evidence_add(*, actor, case: Case, upload: HashedUpload, kind: str, occurred_at, description: str = "",
                 supersedes_id: int | None = None, reason: str = "") -> Evidence:
    """Accept a file as evidence of `case` (or as the replacement of item `supersedes_id`)."""
    now = timezone.now()
    _check_open(case)
    content_type = _check_file(upload, kind)
    _check_time(case, kind, occurred_at, now)
    if supersedes_id is not None:
        reason = _clean_reason(reason)
    _duplicate(case, upload.sha256)
    original_name = filetypes.sanitize_name(upload.name, content_type)
    name = _adopt(upload)
    try:
        with transaction.atomic():
            case, head = _locked_chain(case)
            _check_open(case)
            _duplicate(case, upload.sha256)
            old = None
            if supersedes_id is not None:
                old = Evidence.objects.filter(case=case, pk=supersedes_id).first()
                if old is None:
                    raise ValidationError({"supersedes": _("No evidence #%(id)s in this case.") % {"id": supersedes_id}})
                if old.status != EvidenceStatus.ACTIVE:
                    raise Conflict(_("Evidence #%(id)s is already %(status)s.") % {"id": old.pk, "status": old.status},
                                   code="evidence_not_active")
            _check_quota(case, upload.size)
            sequence = head.length + 1
            label = actor_label(actor)
            stage = KIND_STAGE[kind]
            entry = chain.added_entry(
                case_reference=case.reference, sequence=sequence, prev=head.head_hash, sha256=upload.sha256,
                size=upload.size, content_type=content_type, kind=kind, stage=stage, occurred_at=occurred_at,
                captured_at=now, original_name=original_name, description=description, uploaded_by=label,
                supersedes=old.sequence if old else None,
            )
            digest = chain.entry_hash(entry)
            evidence = Evidence.objects.create(
                case=case, sequence=sequence, kind=kind, stage=stage, file=name, original_name=original_name,
                sha256=upload.sha256, size=upload.size, content_type=content_type, occurred_at=occurred_at,
                captured_at=now, uploaded_by_label=label, description=description, supersedes=old,
                prev_hash=head.head_hash, entry_hash=digest,
                **_actor_fks(actor, "uploaded_by_user", "uploaded_by_key"),
            )
            _advance(head, digest)
            case_event_record(case=case, actor=actor, kind=EventKind.EVIDENCE_ADDED, occurred_at=now,
                              note=description[:200],
                              data={"evidence": evidence.pk, "kind": kind, "sha256": upload.sha256,
                                    "supersedes": old.pk if old else None})
            if old is not None:
                _revoke(actor=actor, case=case, head=head, evidence=old, action=EvidenceStatus.SUPERSEDED,
                        reason=reason, replaced_by=evidence, now=now)
            if stage == Stage.PROBLEM:
                # Seed 004: save proof of the problem within 24 h of finding it; this item does.
                deadline_meet(case=case, kind=DeadlineKind.EVIDENCE_PRESERVATION, at=now)
            audit_record(actor=actor, action="evidence_add", obj=evidence, detail={"case": case.reference})
    except BaseException:
        default_storage.delete(name)
        raise
    return evidence


def evidence_withdraw(*, actor, evidence: Evidence, reason: str) -> Evidence:
    reason = _clean_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        case, head = _locked_chain(evidence.case)
        _check_open(case)
        evidence = Evidence.objects.get(pk=evidence.pk)
        if evidence.status != EvidenceStatus.ACTIVE:
            raise Conflict(_("Evidence #%(id)s is already %(status)s.") % {"id": evidence.pk, "status": evidence.status},
                           code="evidence_not_active")
        _revoke(actor=actor, case=case, head=head, evidence=evidence, action=EvidenceStatus.WITHDRAWN, reason=reason,
                replaced_by=None, now=now)
        audit_record(actor=actor, action="evidence_withdraw", obj=evidence, detail={"reason": reason})
    return evidence


# --- background file checks (verify/?deep=true) ----------------------------------------------------------

FILE_CHECK_ABANDONED_AFTER = timedelta(hours=2)  # a check whose worker died; longer than any task's time limit


def file_check_request(*, actor, case: Case) -> tuple[FileCheck, bool]:
    """Queue a re-hash of the case's files, or join the one already queued or running (one per case).
    Returns (check, queued_now)."""
    from . import tasks

    now = timezone.now()
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        pending = selectors.file_check_pending(case)
        if pending is not None and (pending.started_at or pending.requested_at) > now - FILE_CHECK_ABANDONED_AFTER:
            return pending, False
        if pending is not None:
            FileCheck.objects.filter(pk=pending.pk).update(status=FileCheck.Status.FAILED, finished_at=now,
                                                           error="abandoned: no worker finished it")
        check = FileCheck.objects.create(case=case, requested_by=actor_label(actor) if actor else "system")
        enqueue(tasks.file_check, check.pk)
    return check, True


def file_check_run(*, check_id: int) -> str:
    """Re-hash every stored file of the check's case, outside any lock (it may take minutes), then record
    the result. Returns done, failed or skipped (already taken by another worker, or gone)."""
    now = timezone.now()
    if not FileCheck.objects.filter(pk=check_id, status=FileCheck.Status.QUEUED).update(
        status=FileCheck.Status.RUNNING, started_at=now,
    ):
        return "skipped"
    check = FileCheck.objects.select_related("case").get(pk=check_id)
    try:
        rows = selectors.chain_rows(check.case)
        result = selectors.files_verify(rows)
    except Exception as exc:
        FileCheck.objects.filter(pk=check_id).update(status=FileCheck.Status.FAILED, finished_at=timezone.now(),
                                                     error=f"{exc.__class__.__name__}: {exc}"[:500])
        raise
    FileCheck.objects.filter(pk=check_id).update(
        status=FileCheck.Status.DONE, finished_at=timezone.now(), intact=not result["problems"],
        files_checked=result["files_checked"], bytes_checked=result["bytes_checked"],
        problems=result["problems"], up_to_sequence=max((row.sequence for row in rows), default=0),
    )
    return "done"


def file_checks_sweep(*, now=None, older_than: timedelta | None = None, limit: int | None = None) -> int:
    """Beat: queue a check for cases with evidence whose files were not checked within
    KAMENG_FILE_CHECK_INTERVAL_DAYS, the longest unchecked first, a bounded number per run."""
    from django.db.models import Max, OuterRef, Subquery

    now = now or timezone.now()
    older_than = older_than or timedelta(days=settings.KAMENG_FILE_CHECK_INTERVAL_DAYS)
    limit = limit or settings.KAMENG_FILE_CHECK_BATCH
    last = (FileCheck.objects.filter(case=OuterRef("pk"), status=FileCheck.Status.DONE)
            .values("case").annotate(at=Max("finished_at")).values("at"))
    pending = FileCheck.objects.filter(status__in=[FileCheck.Status.QUEUED, FileCheck.Status.RUNNING])
    cases = (Case.objects.filter(evidence_chain__length__gt=0)
             .exclude(pk__in=pending.values("case_id"))
             .annotate(last_checked=Subquery(last))
             .filter(Q(last_checked__isnull=True) | Q(last_checked__lt=now - older_than))
             .order_by(F("last_checked").asc(nulls_first=True), "pk")[:limit])
    queued = 0
    for case in cases:
        queued += file_check_request(actor=None, case=case)[1]
    return queued
