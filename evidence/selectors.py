"""Reads of evidence, always through the organization-scoped case queryset (another organization's
evidence is simply not found)."""

import hashlib

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from cases.models import Case
from cases.selectors import case_visible

from . import chain
from .models import Evidence, EvidenceChain, EvidenceRevocation

READ_CHUNK = 1024 * 1024


def evidence_list(*, user, case: Case | None = None) -> QuerySet[Evidence]:
    qs = Evidence.objects.filter(case_visible(user=user)).select_related(
        "case", "supersedes", "superseded_by", "uploaded_by_user", "uploaded_by_key")
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("sequence") if case is not None else qs


def evidence_get(*, user, evidence_id) -> Evidence:
    """Evidence.DoesNotExist (a 404) unless `user` may see the case."""
    return evidence_list(user=user).get(pk=evidence_id)


def file_sha256(name: str) -> str | None:
    """SHA-256 of a stored file, streamed; None if the file is missing."""
    digest = hashlib.sha256()
    try:
        with default_storage.open(name, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
    except (FileNotFoundError, OSError):
        return None
    return digest.hexdigest()


def chain_rows(case: Case) -> list[Evidence | EvidenceRevocation]:
    items = list(Evidence.objects.filter(case=case).select_related("supersedes").order_by("sequence"))
    revocations = list(EvidenceRevocation.objects.filter(case=case).select_related("evidence", "replaced_by"))
    return sorted(items + revocations, key=lambda row: (row.sequence, isinstance(row, EvidenceRevocation)))


def entry_of(row, case_reference: str) -> dict:
    """The chain entry a row stands for, from the row as it is now, with the hash stored with it."""
    if isinstance(row, Evidence):
        entry = chain.added_entry(
            case_reference=case_reference, sequence=row.sequence, prev=row.prev_hash, sha256=row.sha256,
            size=row.size, content_type=row.content_type, kind=row.kind, stage=row.stage,
            occurred_at=row.occurred_at, captured_at=row.captured_at, original_name=row.original_name,
            description=row.description, uploaded_by=row.uploaded_by_label,
            supersedes=row.supersedes.sequence if row.supersedes_id else None,
        )
    else:
        entry = chain.revocation_entry(
            case_reference=case_reference, sequence=row.sequence, prev=row.prev_hash, action=row.action,
            evidence_seq=row.evidence.sequence, reason=row.reason,
            replaced_by=row.replaced_by.sequence if row.replaced_by_id else None, by=row.actor_label, at=row.at,
        )
    entry["hash"] = row.entry_hash
    return entry


def chain_head(case: Case) -> EvidenceChain:
    return EvidenceChain.objects.filter(case=case).first() or EvidenceChain(case=case, length=0,
                                                                             head_hash=chain.GENESIS)


def chain_verify(case: Case, *, check_files: bool = True) -> dict:
    """Recompute the chain from the rows and the stored files. `first_bad` is the id of the evidence item
    whose entry (its addition, its file or its withdrawal) is the first to fail."""
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
    for row in rows:
        if isinstance(row, Evidence):
            if check_files:
                actual = file_sha256(row.file.name)
                if actual is None:
                    found.append((row.sequence, row, "the stored file is missing"))
                elif actual != row.sha256:
                    found.append((row.sequence, row, "the stored file's SHA-256 differs from the recorded one "
                                                     "(the file was altered)"))
            if row.status != "active" and row.pk not in revoked:
                found.append((row.sequence, row, f"status is {row.status} but no withdrawal is recorded"))
        else:
            if row.evidence.status != row.action:
                found.append((row.sequence, row, f"a {row.action} entry exists but the item's status is "
                                                 f"{row.evidence.status}"))
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
    }
