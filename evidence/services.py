"""Writes to evidence: adopt an uploaded file into storage, append to the case's hash chain, withdraw.

Storage and hashing live here (STYLE.md): the upload handler has already hashed the bytes in the same
pass that wrote them; the service decides whether the file is acceptable, moves it to a random,
unguessable storage name, and appends the chained entry under a lock on the case row."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException

from cases.codes import EventKind
from cases.models import Case
from cases.services import case_event_record
from escalation.codes import DeadlineKind
from escalation.services import deadline_meet
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict

from . import chain, filetypes
from .codes import KIND_STAGE, MAY_PRECEDE_PURCHASE, EvidenceStatus, Stage
from .models import Evidence, EvidenceChain, EvidenceRevocation
from .storage import delete_stored, storage_name  # noqa: F401 - storage_name re-exported
from .uploads import HashedUpload

CLOCK_SKEW = timedelta(minutes=5)
MAX_REASON = 2000


class UnsupportedFileType(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "This type of file is not accepted."
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


def _adopt(upload: HashedUpload) -> str:
    """Give the received file its random storage name (evidence/storage.py, evidence/uploads.py)."""
    return upload.adopt()


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
        delete_stored(name)
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
