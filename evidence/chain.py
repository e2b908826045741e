"""The per-case hash chain, as pure functions (no database), so the service, `verify/` and the offline
`verify_bundle` command compute exactly the same thing.

Each entry is a small JSON object; its hash is SHA-256 over the canonical JSON (sorted keys, UTF-8,
no spaces) of the entry including `prev`, the previous entry's hash (GENESIS for the first). An
"added" entry covers the file's SHA-256 and every immutable metadata field; a "withdrawn" /
"superseded" entry covers which item, why, by whom and when. Entries name items by their sequence
number, not by database id, so a bundle can be checked without the database."""

import hashlib
import json
from datetime import UTC, datetime

VERSION = 1
GENESIS = "0" * 64
ADDED = "added"
REVOCATIONS = ("withdrawn", "superseded")


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def added_entry(*, case_reference: str, sequence: int, prev: str, sha256: str, size: int, content_type: str,
                kind: str, stage: str, occurred_at: datetime, captured_at: datetime, original_name: str,
                description: str, uploaded_by: str, supersedes: int | None) -> dict:
    return {
        "v": VERSION, "case": case_reference, "seq": sequence, "type": ADDED, "prev": prev,
        "file_sha256": sha256, "size": size, "content_type": content_type, "kind": kind, "stage": stage,
        "occurred_at": timestamp(occurred_at), "captured_at": timestamp(captured_at),
        "original_name": original_name, "description": description, "uploaded_by": uploaded_by,
        "supersedes": supersedes,
    }


def revocation_entry(*, case_reference: str, sequence: int, prev: str, action: str, evidence_seq: int,
                     reason: str, replaced_by: int | None, by: str, at: datetime) -> dict:
    return {
        "v": VERSION, "case": case_reference, "seq": sequence, "type": action, "prev": prev,
        "evidence": evidence_seq, "reason": reason, "replaced_by": replaced_by, "by": by, "at": timestamp(at),
    }


def check_entries(entries: list[dict], *, head: str | None = None, length: int | None = None) -> list[dict]:
    """Recompute the chain; return the problems found (empty if intact), each naming the entry's index
    (`index`, 0-based), its sequence and what is wrong. `head`/`length`, when given, are the recorded head
    of the chain: a missing last entry shows there."""
    problems = []
    prev: str | None = GENESIS
    case = entries[0].get("case") if entries else None
    added = set()
    for index, entry in enumerate(entries):
        seq = entry.get("seq")
        if seq != index + 1:
            problems.append({"index": index, "seq": seq, "problem": f"sequence {seq} where {index + 1} was expected "
                                                                    "(an entry is missing or out of order)"})
        if entry.get("case") != case:
            problems.append({"index": index, "seq": seq, "problem": "entry belongs to another case"})
        if entry.get("prev") != prev:
            problems.append({"index": index, "seq": seq,
                             "problem": "previous-hash link broken (an earlier entry was changed or removed)"})
        computed = entry_hash(entry)
        if entry.get("hash") != computed:
            problems.append({"index": index, "seq": seq,
                             "problem": "entry hash does not match its contents (the entry was altered)"})
        if entry.get("type") == ADDED:
            added.add(seq)
        elif entry.get("type") in REVOCATIONS:
            if entry.get("evidence") not in added:
                problems.append({"index": index, "seq": seq, "problem": "withdraws an item not in the chain"})
        else:
            problems.append({"index": index, "seq": seq, "problem": f"unknown entry type {entry.get('type')!r}"})
        prev = entry.get("hash")
    if length is not None and length != len(entries):
        problems.append({"index": len(entries), "seq": None,
                         "problem": f"the chain records {length} entries but {len(entries)} were found"})
    if head is not None and entries and head != prev:
        problems.append({"index": len(entries) - 1, "seq": entries[-1].get("seq"),
                         "problem": "the last entry is not the recorded head of the chain"})
    if head is not None and not entries and head not in (GENESIS, ""):
        problems.append({"index": 0, "seq": None, "problem": "the chain has a head but no entries"})
    return problems
