"""Reads of evidence, always through the organization-scoped case queryset (another organization's
evidence is simply not found)."""

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case
from cases.selectors import case_visible
from kameng_api.core.actors import Reader

from . import chain, events, timestamps
from .codes import EvidenceStatus
from .models import (
    Evidence,
    EvidenceChain,
    EvidenceRevocation,
    EvidenceTimestamp,
    FileCheck,
    TimestampStatus,
    TimestampSubject,
)
from .storage import open_stored

READ_CHUNK = 1024 * 1024


def evidence_list(*, user: Reader, case: Case | int | None = None, listing: bool = False) -> QuerySet[Evidence]:
    """`listing`: only what a list row shows (the case and the superseded item as ids, the uploader's name as
    stored, the timestamp's status): no case, earlier item or uploader joined to every row, which made planning
    the statement (eight tables) cost more than running it."""
    related = ["superseded_by", "timestamp"]
    if not listing:
        related += ["case", "supersedes", "uploaded_by_user", "uploaded_by_key"]
    qs = Evidence.objects.filter(case_visible(user=user)).select_related(*related).defer("timestamp__token")
    if listing:
        qs = qs.defer("superseded_by__description", "superseded_by__withdraw_reason", "superseded_by__original_name")
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("sequence") if case is not None else qs


def evidence_get(*, user: Reader, evidence_id: int | str) -> Evidence:
    """Evidence.DoesNotExist (a 404) unless `user` may see the case."""
    return evidence_list(user=user).get(pk=evidence_id)


def file_sha256(name: str) -> str | None:
    """SHA-256 of a stored file, streamed from the disk or the object store; None if the file is missing.
    An object store that does not answer is a 503 (StorageUnavailable), never reported as tampering."""
    digest = hashlib.sha256()
    try:
        with open_stored(name) as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
    except (FileNotFoundError, OSError):
        return None
    return digest.hexdigest()


def chain_rows(case: Case) -> list[Evidence | EvidenceRevocation]:
    items = list(Evidence.objects.filter(case=case).select_related("supersedes").order_by("sequence"))
    revocations = list(EvidenceRevocation.objects.filter(case=case).select_related("evidence", "replaced_by"))
    return sorted([*items, *revocations], key=lambda row: (row.sequence, isinstance(row, EvidenceRevocation)))


def entry_of(row: Evidence | EvidenceRevocation, case_reference: str) -> dict:
    """The chain entry a row stands for, from the row as it is now, with the hash stored with it."""
    if isinstance(row, Evidence):
        entry = chain.added_entry(
            case_reference=case_reference, sequence=row.sequence, prev=row.prev_hash, sha256=row.sha256,
            size=row.size, content_type=row.content_type, kind=row.kind, stage=row.stage,
            occurred_at=row.occurred_at, captured_at=row.captured_at, original_name=row.original_name,
            description=row.description, uploaded_by=row.uploaded_by_label,
            supersedes=row.supersedes.sequence if row.supersedes is not None else None,
        )
    else:
        entry = chain.revocation_entry(
            case_reference=case_reference, sequence=row.sequence, prev=row.prev_hash, action=row.action,
            evidence_seq=row.evidence.sequence, reason=row.reason,
            replaced_by=row.replaced_by.sequence if row.replaced_by is not None else None, by=row.actor_label, at=row.at,
        )
    entry["hash"] = row.entry_hash
    return entry


def chain_head(case: Case) -> EvidenceChain:
    return EvidenceChain.objects.filter(case=case).first() or EvidenceChain(case=case, length=0,
                                                                             head_hash=chain.GENESIS)


def files_verify(rows: Iterable[Evidence | EvidenceRevocation]) -> dict:
    """Re-hash every stored file of the evidence rows given (a case's, in chain order): the slow part of a
    verification, run by the background file check (`evidence.tasks.file_check`), never in a request."""
    problems: list[dict] = []
    checked, size = 0, 0
    for row in rows:
        if not isinstance(row, Evidence):
            continue
        checked += 1
        actual = file_sha256(row.file.name) if row.file.name else None
        if actual is None:
            text = "the stored file is missing"
        elif actual != row.sha256:
            text = "the stored file's SHA-256 differs from the recorded one (the file was altered)"
        else:
            size += row.size
            continue
        problems.append({"sequence": row.sequence, "evidence": row.pk, "problem": text})
    return {"files_checked": checked, "bytes_checked": size, "problems": problems}


def case_evidence_bytes(case: Case) -> int:
    """Bytes stored for a case (every item, withdrawn and superseded ones included: they are kept)."""
    return Evidence.objects.filter(case=case).aggregate(total=Sum("size"))["total"] or 0


def file_check_last(case: Case) -> FileCheck | None:
    return FileCheck.objects.filter(case=case, status=FileCheck.Status.DONE).order_by("-finished_at").first()


def file_check_pending(case: Case) -> FileCheck | None:
    return FileCheck.objects.filter(case=case, status__in=[FileCheck.Status.QUEUED, FileCheck.Status.RUNNING]).first()


def verify_answer(case: Case) -> dict:
    """What `verify/` answers: the chain recomputed from the rows now (cheap), and the stored files as the
    last background check found them, with when that was and whether newer evidence is not covered yet."""
    result = chain_verify(case, check_files=False)
    last, pending = file_check_last(case), file_check_pending(case)
    head = chain_head(case)
    files: dict[str, Any] = {
        "status": "never_checked", "checked_at": None, "intact": None, "files_checked": 0,
        "up_to_sequence": 0, "covers_all": head.length == 0, "problems": [],
        "pending": {"id": pending.pk, "status": pending.status, "requested_at": pending.requested_at}
        if pending else None,
    }
    if last is not None:
        files.update(status="checked", checked_at=last.finished_at, intact=last.intact,
                     files_checked=last.files_checked, up_to_sequence=last.up_to_sequence,
                     covers_all=last.up_to_sequence >= head.length, problems=last.problems)
        if last.problems:
            listed = sorted(result["problems"] + last.problems, key=lambda p: p["sequence"])
            result.update(intact=False, problems=listed, first_bad=listed[0]["evidence"],
                          first_bad_sequence=listed[0]["sequence"])
    result["files"] = files
    return result


def chain_verify(case: Case, *, check_files: bool = True) -> dict:
    """Recompute the chain from the rows (and, with `check_files`, the stored files). `first_bad` is the id
    of the evidence item whose entry (its addition, its file or its withdrawal) is the first to fail."""
    rows = chain_rows(case)
    head = chain_head(case)
    entries = [entry_of(row, case.reference) for row in rows]
    problems = chain.check_entries(entries, head=head.head_hash, length=head.length)
    found = []
    revoked = {row.evidence_id for row in rows if isinstance(row, EvidenceRevocation)}
    for problem in problems:
        index = problem["index"]
        row = rows[index] if index < len(rows) else (rows[-1] if rows else None)
        found.append((problem.get("seq") or (row.sequence if row else 0), row, problem["problem"]))
    if check_files:
        for problem in files_verify(rows)["problems"]:
            row = next(r for r in rows if isinstance(r, Evidence) and r.pk == problem["evidence"])
            found.append((problem["sequence"], row, problem["problem"]))
    for row in rows:
        if isinstance(row, Evidence):
            if row.status != "active" and row.pk not in revoked:
                found.append((row.sequence, row, f"status is {row.status} but no withdrawal is recorded"))
        else:
            if row.evidence.status != row.action:
                found.append((row.sequence, row, f"a {row.action} entry exists but the item's status is "
                                                 f"{row.evidence.status}"))
    stamps = timestamps_verify(case, rows=rows, entries=entries)
    for sequence, row, text in stamps.pop("found"):
        found.append((sequence, row, text))
    found.sort(key=lambda item: item[0])
    listed = []
    for sequence, row, text in found:
        evidence = row if isinstance(row, Evidence) else (row.evidence if row is not None else None)
        listed.append({"sequence": sequence, "evidence": evidence.pk if evidence else None, "problem": text})
    return {
        "intact": not listed,
        "checked": len(entries),
        "first_bad": listed[0]["evidence"] if listed else None,
        "first_bad_sequence": listed[0]["sequence"] if listed else None,
        "head": head.head_hash,
        "problems": listed,
        "timestamps": stamps,
    }


def evidence_for_documents(*, case: Case) -> list[dict]:
    """The active items a document lists (kind, description, SHA-256), oldest first: the letter and the
    other documents of escalation/documents.py read the evidence here."""
    rows = Evidence.objects.filter(case=case, status=EvidenceStatus.ACTIVE).order_by("occurred_at", "id")
    return [{"kind": str(item.get_kind_display()), "description": item.description or "", "sha256": item.sha256}
            for item in rows]


def bundle_contents(case: Case, lang: str) -> dict:
    """What the case bundle is made of (`bundle.stream(**parts)`), for the API's `bundle/` and the admin:
    the manifest, the timeline, the letter in `lang` and the evidence items."""
    from django.utils import translation

    from . import bundle
    from .api.serializers import TimelineSerializer
    from .timeline import timeline

    evidence = list(Evidence.objects.filter(case=case).select_related("supersedes").order_by("sequence"))
    entries = [entry_of(row, case.reference) for row in chain_rows(case)]
    answers = [text for _receiver, text in events.bundle_letter_requested.send(sender=Case, case=case, lang=lang)
               if text]
    letter = answers[0] if answers else ""
    with translation.override(lang):
        timeline_data = TimelineSerializer(timeline(case, evidence, list(case.events.all()))).data
    stamps = case_timestamps(case)
    manifest = bundle.manifest(case, evidence=evidence, entries=entries, head=chain_head(case), lang=lang,
                               stamps=stamps)
    return {"manifest_data": manifest, "timeline_data": timeline_data, "letter": letter, "evidence": evidence,
            "stamps": stamps, "tsa_ca_pem": tsa_ca_pem()}


NOT_CONFIGURED = "not_configured"


def timestamp_status(row: EvidenceTimestamp | None) -> dict:
    """What the API and the admin show for one item's or head's timestamp."""
    if row is None:
        if not settings.KAMENG_TSA_URL:
            return {"status": NOT_CONFIGURED, "label": _("no TSA configured"), "stamped_at": None, "tsa": "",
                    "tsa_url": "", "serial": "", "attempts": 0, "error": "", "next_attempt_at": None}
        return {"status": TimestampStatus.PENDING.value, "label": _("pending (not yet requested)"),
                "stamped_at": None, "tsa": "", "tsa_url": "", "serial": "", "attempts": 0, "error": "",
                "next_attempt_at": None}
    if row.status == TimestampStatus.STAMPED:
        label = _("stamped at %(time)s by %(tsa)s") % {
            "time": timezone.localtime(row.gen_time).strftime("%Y-%m-%d %H:%M:%S %Z"), "tsa": row.tsa_name or row.tsa_url}
    elif row.status == TimestampStatus.FAILED:
        label = _("failed after %(n)s attempts: %(reason)s (retried at %(next)s)") % {
            "n": row.attempts, "reason": row.last_error or "?",
            "next": timezone.localtime(row.next_attempt_at).strftime("%Y-%m-%d %H:%M")}
    elif row.attempts:
        label = _("pending (attempt %(n)s failed: %(reason)s; next try at %(next)s)") % {
            "n": row.attempts, "reason": row.last_error or "?",
            "next": timezone.localtime(row.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")}
    else:
        label = _("pending")
    return {"status": row.status, "label": label, "stamped_at": row.gen_time, "tsa": row.tsa_name,
            "tsa_url": row.tsa_url, "serial": row.serial, "attempts": row.attempts,
            "error": row.last_error if row.status != TimestampStatus.STAMPED else "",
            "next_attempt_at": row.next_attempt_at if row.status != TimestampStatus.STAMPED else None}


def item_timestamp(item: Evidence) -> EvidenceTimestamp | None:
    try:
        return item.timestamp
    except EvidenceTimestamp.DoesNotExist:
        return None


def head_timestamp(case: Case, sequence: int) -> EvidenceTimestamp | None:
    return EvidenceTimestamp.objects.filter(case=case, subject=TimestampSubject.HEAD, sequence=sequence).first()


def timestamps_verify(case: Case, *, rows: list, entries: list[dict]) -> dict:
    """Re-check every stored token against the configured TSA certificates: its signature, and that its
    imprint is the item's recorded SHA-256 or the chain entry's hash at that sequence."""
    stamps = list(EvidenceTimestamp.objects.filter(case=case).order_by("sequence", "subject"))
    by_item = {row.pk: row for row in rows if isinstance(row, Evidence)}
    found = []
    counts = {"pending": 0, "stamped": 0, "failed": 0, "verified": 0}
    trust = None
    if settings.KAMENG_TSA_CA_FILE:
        try:
            trust = timestamps.Trust.from_files(settings.KAMENG_TSA_CA_FILE, settings.KAMENG_TSA_CERT_FILE or None)
        except (OSError, ValueError):
            trust = None
    for stamp in stamps:
        counts[stamp.status] += 1
        if stamp.status != TimestampStatus.STAMPED:
            continue
        item = (by_item.get(stamp.evidence_id)
                if stamp.subject == TimestampSubject.ITEM and stamp.evidence_id is not None else None)
        if stamp.subject == TimestampSubject.ITEM:
            expected = item.sha256 if item is not None else None
            what = _("the timestamp of the file")
        else:
            entry = entries[stamp.sequence - 1] if 0 < stamp.sequence <= len(entries) else None
            expected = entry.get("hash") if entry else None
            what = _("the timestamp of chain head %(seq)s") % {"seq": stamp.sequence}
        if expected is None:
            found.append((stamp.sequence, item, _("%(what)s refers to an entry that is not in the chain")
                          % {"what": what}))
            continue
        if stamp.digest != expected:
            found.append((stamp.sequence, item, _("%(what)s was requested for another hash") % {"what": what}))
            continue
        if trust is None:
            continue
        try:
            timestamps.verify_token(bytes(stamp.token), digest_hex=expected, trust=trust)
        except timestamps.TimestampError as exc:
            found.append((stamp.sequence, item, _("%(what)s does not verify: %(error)s") % {"what": what,
                                                                                             "error": exc}))
            continue
        counts["verified"] += 1
    head = chain_head(case)
    latest = head_timestamp(case, head.length) if head.length else None
    return {"configured": bool(settings.KAMENG_TSA_URL), "checked_against_ca": trust is not None, **counts,
            "head": timestamp_status(latest) if head.length else None, "found": found}


def case_timestamps(case: Case) -> list[EvidenceTimestamp]:
    return list(EvidenceTimestamp.objects.filter(case=case).order_by("subject", "sequence"))


def tsa_ca_pem() -> str:
    """The configured TSA CA certificates (PEM), as they travel in a bundle."""
    if not settings.KAMENG_TSA_CA_FILE:
        return ""
    try:
        return timestamps.Trust.from_files(settings.KAMENG_TSA_CA_FILE).pem()
    except (OSError, ValueError):
        return ""
