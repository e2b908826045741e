"""Writes to evidence: adopt an uploaded file into storage, append to the case's hash chain, withdraw.

Storage and hashing live here (STYLE.md): the upload handler has already hashed the bytes in the same
pass that wrote them; the service decides whether the file is acceptable, moves it to a random,
unguessable storage name, and appends the chained entry under a lock on the case row."""

import logging
import random
import ssl
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.codes import EventKind
from cases.models import Case
from cases.services import case_event_record
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict, PayloadTooLarge, UnsupportedFileType
from kameng_api.core.tasks import enqueue
from kameng_api.core.validators import not_in_future

from . import chain, events, filetypes, selectors, timestamps
from .codes import KIND_STAGE, MAY_PRECEDE_PURCHASE, EvidenceStatus
from .models import (
    Evidence,
    EvidenceChain,
    EvidenceRevocation,
    EvidenceTimestamp,
    FileCheck,
    TimestampStatus,
    TimestampSubject,
)
from .storage import delete_stored, storage_name  # noqa: F401 - storage_name re-exported
from .uploads import HashedUpload

logger = logging.getLogger(__name__)
MAX_REASON = 2000


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


def _check_time(case: Case, kind: str, occurred_at: datetime, now: datetime) -> None:
    not_in_future(occurred_at, field="occurred_at", now=now)
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


def _revoke(*, actor: ActorLike, case: Case, head: EvidenceChain, evidence: Evidence, action: str, reason: str,
            replaced_by: Evidence | None, now: datetime) -> EvidenceRevocation:
    sequence = head.length + 1
    by = Actor.of(actor).label
    entry = chain.revocation_entry(
        case_reference=case.reference, sequence=sequence, prev=head.head_hash, action=action,
        evidence_seq=evidence.sequence, reason=reason, replaced_by=replaced_by.sequence if replaced_by else None,
        by=by, at=now,
    )
    digest = chain.entry_hash(entry)
    revocation = EvidenceRevocation.objects.create(
        case=case, evidence=evidence, sequence=sequence, action=action, reason=reason, replaced_by=replaced_by,
        actor_label=by, at=now, prev_hash=head.head_hash, entry_hash=digest,
        **Actor.of(actor).fks("actor_user", "actor_key"),
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


def evidence_add(*, actor: ActorLike, case: Case, upload: HashedUpload, kind: str, occurred_at: datetime, description: str = "",
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
            label = Actor.of(actor).label
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
                **Actor.of(actor).fks("uploaded_by_user", "uploaded_by_key"),
            )
            _advance(head, digest)
            case_event_record(case=case, actor=actor, kind=EventKind.EVIDENCE_ADDED, occurred_at=now,
                              note=description[:200],
                              data={"evidence": evidence.pk, "kind": kind, "sha256": upload.sha256,
                                    "supersedes": old.pk if old else None})
            if old is not None:
                _revoke(actor=actor, case=case, head=head, evidence=old, action=EvidenceStatus.SUPERSEDED,
                        reason=reason, replaced_by=evidence, now=now)
            timestamps_request(case=case, head=head, evidence=evidence)
            events.evidence_added.send(sender=Evidence, case=case, evidence=evidence, at=now)
            audit_record(actor=actor, action="evidence_add", obj=evidence, detail={"case": case.reference})
    except BaseException:
        delete_stored(name)
        raise
    return evidence


def evidence_withdraw(*, actor: ActorLike, evidence: Evidence, reason: str) -> Evidence:
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
        timestamps_request(case=case, head=head)
        audit_record(actor=actor, action="evidence_withdraw", obj=evidence, detail={"reason": reason})
    return evidence


# --- background file checks (verify/?deep=true) ----------------------------------------------------------

FILE_CHECK_ABANDONED_AFTER = timedelta(hours=2)  # a check whose worker died; longer than any task's time limit


def file_check_request(*, actor: ActorLike | None, case: Case) -> tuple[FileCheck, bool]:
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
        check = FileCheck.objects.create(case=case, requested_by=Actor.of(actor).label)
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


def file_checks_sweep(*, now: datetime | None = None, older_than: timedelta | None = None, limit: int | None = None) -> int:
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


# --- RFC 3161 trusted timestamps ---------------------------------------------------------------------------
# Each new item's SHA-256 and each new chain head get a pending EvidenceTimestamp row in the transaction that
# made them; a task stamps it after commit (evidence is usable at once), retrying with back-off; the beat's
# sweep is the safety net (a lost task, a dead worker, failed rows retried later, items from before a TSA
# was configured). See evidence/timestamps.py for what a token must satisfy.

def tsa_configured() -> bool:
    return bool(settings.KAMENG_TSA_URL)


def tsa_trust() -> timestamps.Trust:
    return timestamps.Trust.from_files(settings.KAMENG_TSA_CA_FILE or None, settings.KAMENG_TSA_CERT_FILE or None)


def timestamps_request(*, case: Case, head: EvidenceChain, evidence: Evidence | None = None) -> list[int]:
    """Inside the writing transaction: pending rows for the new item (if any) and the new head; one task per
    row after commit. Nothing when no TSA is configured."""
    if not tsa_configured():
        return []
    from . import tasks

    now = timezone.now()
    rows = []
    if evidence is not None:
        rows.append(EvidenceTimestamp.objects.create(
            case=case, subject=TimestampSubject.ITEM, evidence=evidence, sequence=evidence.sequence,
            digest=evidence.sha256, next_attempt_at=now))
    rows.append(EvidenceTimestamp.objects.create(
        case=case, subject=TimestampSubject.HEAD, sequence=head.length, digest=head.head_hash, next_attempt_at=now))
    ids = [row.pk for row in rows]
    enqueue(tasks.timestamps_stamp, ids)  # one message per upload: the upload's cost stays as it was
    return ids


def timestamp_backoff(attempts: int, *, rand: float | None = None) -> float:
    """Exponential back-off with equal jitter: the n-th retry waits between half and all of
    min(cap, base × 2^(n-1)), so the items queued while a TSA was down do not all return at once."""
    ceiling = min(settings.KAMENG_TSA_BACKOFF_CAP, settings.KAMENG_TSA_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    r = random.random() if rand is None else rand  # noqa: S311 - jitter, not security
    return ceiling / 2 + r * ceiling / 2


def _tls_context() -> ssl.SSLContext | None:
    if settings.KAMENG_TSA_TLS_CA_FILE:
        return ssl.create_default_context(cafile=settings.KAMENG_TSA_TLS_CA_FILE)
    return None


def _ask_tsas(digest: str) -> tuple[bytes | None, timestamps.TokenFacts | None, str, list[str]]:
    """Each configured TSA in order until one returns a token that checks out."""
    trust = tsa_trust()
    errors: list[str] = []
    for url in settings.KAMENG_TSA_URL:
        shown = timestamps.display_url(url)
        query, nonce = timestamps.build_request(digest)
        sent_at = timezone.now()
        try:
            token = timestamps.post_query(url, query, timeout=settings.KAMENG_TSA_TIMEOUT,
                                          username=settings.KAMENG_TSA_USERNAME,
                                          password=settings.KAMENG_TSA_PASSWORD, ssl_context=_tls_context())
            facts = timestamps.verify_token(token, digest_hex=digest, trust=trust, nonce=nonce, sent_at=sent_at,
                                            received_at=timezone.now(), max_skew=settings.KAMENG_TSA_MAX_SKEW)
        except timestamps.TimestampError as exc:
            errors.append(f"{shown}: {exc}")
            logger.warning("timestamp from %s refused: %s", shown, exc)
            continue
        except Exception as exc:  # anything unexpected from one TSA must not stop the failover
            errors.append(f"{shown}: {exc.__class__.__name__}: {exc}")
            logger.exception("timestamp from %s failed", shown)
            continue
        facts.extra["nonce"] = nonce
        return token, facts, shown, errors
    if not settings.KAMENG_TSA_URL:
        errors.append("no TSA configured")
    return None, None, "", errors


def timestamp_attempt(*, timestamp_id: int, max_attempts: int | None = None) -> str:
    """One try at stamping one row: stamped, retry, failed or skipped. Safe to run twice at once: the
    attempt is claimed under a row lock, and the token is written only while the row is still unstamped."""
    from . import tasks

    max_attempts = max_attempts or settings.KAMENG_TSA_MAX_ATTEMPTS
    now = timezone.now()
    lease = timedelta(seconds=settings.KAMENG_TSA_TIMEOUT * max(len(settings.KAMENG_TSA_URL), 1) + 60)
    with transaction.atomic():
        row = (EvidenceTimestamp.objects.select_for_update(skip_locked=True)
               .filter(pk=timestamp_id, status__in=[TimestampStatus.PENDING, TimestampStatus.FAILED]).first())
        if row is None or row.next_attempt_at > now or not tsa_configured():
            return "skipped"
        EvidenceTimestamp.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, next_attempt_at=now + lease)
    token, facts, url, errors = _ask_tsas(row.digest)
    retry_in = None
    with transaction.atomic():
        row = EvidenceTimestamp.objects.select_for_update().get(pk=timestamp_id)
        if row.status == TimestampStatus.STAMPED:
            return "skipped"
        now = timezone.now()
        if token is not None and facts is not None:
            row.status = TimestampStatus.STAMPED
            row.token = token
            row.tsa_url, row.tsa_name = url, facts.tsa_name[:300]
            row.gen_time, row.serial, row.policy = facts.gen_time, facts.serial[:80], facts.policy[:200]
            row.nonce = str(facts.extra.get("nonce", ""))
            row.last_error = "; ".join(errors)[:2000]  # TSAs that failed before the one that answered
            result = "stamped"
        else:
            row.last_error = "; ".join(errors)[:2000]
            if row.attempts >= max_attempts:
                row.status = TimestampStatus.FAILED
                row.next_attempt_at = now + timedelta(seconds=settings.KAMENG_TSA_FAILED_RETRY)
                logger.error("timestamp %s failed after %s attempts: %s", row.pk, row.attempts, row.last_error)
                result = "failed"
            else:
                retry_in = timestamp_backoff(row.attempts)
                row.next_attempt_at = now + timedelta(seconds=retry_in)
                result = "retry"
        row.save()
        if retry_in is not None:
            delay = retry_in
            transaction.on_commit(lambda: _retry_later(tasks.timestamp_stamp, timestamp_id, delay))
    return result


def _retry_later(task: Any, timestamp_id: int, seconds: float) -> None:
    try:
        task.apply_async(args=[timestamp_id], countdown=min(seconds, 600))
    except Exception:
        logger.exception("could not enqueue the retry of timestamp %s; the sweep will", timestamp_id)


def timestamps_backfill(*, limit: int = 1000) -> int:
    """Rows for items and current chain heads that have none (evidence from before a TSA was configured)."""
    if not tsa_configured():
        return 0
    created = 0
    now = timezone.now()
    for item in Evidence.objects.filter(timestamp__isnull=True).order_by("pk")[:limit]:
        created += _create_once(case_id=item.case_id, subject=TimestampSubject.ITEM, evidence=item,
                                sequence=item.sequence, digest=item.sha256, next_attempt_at=now)
    stamped_head = EvidenceTimestamp.objects.filter(case_id=OuterRef("case_id"), subject=TimestampSubject.HEAD,
                                                    sequence=OuterRef("length"))
    for head in EvidenceChain.objects.filter(length__gt=0).exclude(Exists(stamped_head)).order_by("pk")[:limit]:
        created += _create_once(case_id=head.case_id, subject=TimestampSubject.HEAD, sequence=head.length,
                                digest=head.head_hash, next_attempt_at=now)
    return created


def _create_once(**fields: Any) -> int:
    """A row unless one already exists (another process got there first: the unique constraints decide)."""
    try:
        with transaction.atomic():
            EvidenceTimestamp.objects.create(**fields)
    except IntegrityError:
        return 0
    return 1


def timestamps_sweep(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Beat: enqueue the rows that are due (never sent, a retry whose task went missing, a failed row whose
    wait is over), after creating rows for anything not yet requested."""
    from . import tasks

    if not tsa_configured():
        return 0
    now = now or timezone.now()
    timestamps_backfill(limit=limit)
    grace = timedelta(seconds=settings.KAMENG_TSA_SWEEP_GRACE)
    ids = list(EvidenceTimestamp.objects.filter(status__in=[TimestampStatus.PENDING, TimestampStatus.FAILED],
                                                next_attempt_at__lte=now - grace)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for pk in ids:
        _retry_later(tasks.timestamp_stamp, pk, 0)
    return len(ids)


def timestamps_retry_now(*, actor: ActorLike, queryset: QuerySet[EvidenceTimestamp]) -> int:
    """An operator's "retry now" (admin): failed or pending rows get a fresh series of attempts at once."""
    from . import tasks

    rows = list(queryset.filter(status__in=[TimestampStatus.PENDING, TimestampStatus.FAILED]))
    now = timezone.now()
    for row in rows:
        with transaction.atomic():
            locked = EvidenceTimestamp.objects.select_for_update().get(pk=row.pk)
            if locked.status == TimestampStatus.STAMPED:
                continue
            locked.status, locked.attempts, locked.next_attempt_at = TimestampStatus.PENDING, 0, now
            locked.save()
            audit_record(actor=actor, action="timestamp_retry", obj=locked, detail={"case": locked.case_id})
            enqueue(tasks.timestamp_stamp, locked.pk)
    return len(rows)
