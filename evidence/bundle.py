"""The case bundle: one ZIP for 12315, a platform or a court, streamed to the client as it is built.

Contents: manifest.json (the case summary without the consumer's ID number, every file with kind, times
and SHA-256, every chain entry and the chain head), files/ (the active evidence), timeline.json, and
letter.txt — the complaint letter ("事实 + 依据 + 诉求", escalation/letter.py) for the recommended channel; and
when a TSA is configured, timestamps/ (every RFC 3161 token, .tsr, of the files and chain heads, with
VERIFY.txt: the `openssl ts -verify` command for each) and tsa/ (the TSA CA certificates and the signing
certificates found in the tokens). `verify_bundle()` (and `manage.py verify_bundle`) checks a bundle offline:
every file against its recorded hash, the chain recomputed up to the recorded head, and every token."""

import hashlib
import json
import shlex
import zipfile
import zlib
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from . import chain, timestamps
from .codes import EvidenceStatus
from .storage import open_stored

FORMAT = "kameng-evidence-bundle"
VERSION = 1
MANIFEST = "manifest.json"
TIMELINE = "timeline.json"
LETTER = "letter.txt"
TSA_CA = "tsa/ca.pem"
TSA_CERTS = "tsa/tsa-certs.pem"
VERIFY_TXT = "timestamps/VERIFY.txt"
CHUNK = 1024 * 1024
ZIP64_FROM = 2**31


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


def case_summary(case) -> dict:
    """What the bundle says about the case. The consumer's ID number and payment account stay out."""
    return {
        "reference": case.reference,
        "organization": case.organization.name,
        "platform": {"name": case.platform.name, "company_name": case.platform.company_name,
                     "credit_code": case.platform.credit_code, "icp_number": case.platform.icp_number},
        "merchant": case.merchant.name if case.merchant_id else "",
        "order_number": case.order_number,
        "product_type": case.product_type,
        "face_value": case.face_value,
        "amount_paid": case.amount_paid,
        "payment_channel": case.payment_channel,
        "purchased_at": case.purchased_at,
        "delivered_at": case.delivered_at,
        "problem_found_at": case.problem_found_at,
        "dispute_type": case.dispute_type,
        "description": case.description,
        "merchant_promise": case.merchant_promise,
        "status": case.status,
        "claims": [{"kind": c.kind, "amount": c.amount} for c in case.claims.all()],
        "consumer": {"name": case.consumer.name, "phone": case.consumer.phone},
    }


def file_path(item) -> str:
    return f"files/{item.sequence:04d}-{item.kind}-{item.original_name}"


def token_path(stamp) -> str:
    folder = "files" if stamp.subject == "item" else "heads"
    return f"timestamps/{folder}/{stamp.sequence:04d}.tsr"


def timestamp_list(*, evidence: list, stamps: list) -> list[dict]:
    """The stamped tokens that travel: those of the files in the bundle, and every chain head's."""
    active = {item.pk: item for item in evidence if item.status == EvidenceStatus.ACTIVE}
    listed = []
    for stamp in stamps:
        if stamp.status != "stamped" or (stamp.subject == "item" and stamp.evidence_id not in active):
            continue
        token = bytes(stamp.token)
        listed.append({
            "subject": stamp.subject, "sequence": stamp.sequence, "path": token_path(stamp),
            "data": file_path(active[stamp.evidence_id]) if stamp.subject == "item" else None,
            "digest": stamp.digest, "gen_time": stamp.gen_time, "tsa": stamp.tsa_name, "tsa_url": stamp.tsa_url,
            "serial": stamp.serial, "policy": stamp.policy, "sha256": hashlib.sha256(token).hexdigest(),
        })
    return listed


def verify_commands(listed: list[dict]) -> str:
    """What an expert types, one command per token, from the bundle's unpacked folder."""
    lines = ["# Check every RFC 3161 token of this bundle with OpenSSL alone, from the unpacked bundle folder.",
             "# Each command prints 'Verification: OK'. Prefer the TSA's root certificate obtained from the TSA",
             f"# itself over {TSA_CA} (a copy the service made).", ""]
    for item in listed:
        source = f"-data {shlex.quote(item['data'])}" if item["subject"] == "item" else f"-digest {item['digest']}"
        lines.append(f"openssl ts -verify -in {item['path']} {source} -CAfile {TSA_CA} -untrusted {TSA_CERTS}")
    return "\n".join(lines) + "\n"


def manifest(case, *, evidence: list, entries: list[dict], head, lang: str, stamps: list | None = None) -> dict:
    listed = timestamp_list(evidence=evidence, stamps=stamps or [])
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": timezone.now(),
        "case": case_summary(case),
        "chain": {"algorithm": "sha256", "genesis": chain.GENESIS, "length": head.length, "head": head.head_hash},
        "files": [
            {"evidence": item.pk, "sequence": item.sequence, "path": file_path(item), "kind": item.kind,
             "stage": item.stage, "occurred_at": item.occurred_at, "captured_at": item.captured_at,
             "sha256": item.sha256, "size": item.size, "content_type": item.content_type,
             "original_name": item.original_name, "description": item.description}
            for item in evidence if item.status == EvidenceStatus.ACTIVE
        ],
        "entries": entries,
        "timestamps": listed,
        "timestamps_pending": [{"subject": st.subject, "sequence": st.sequence, "status": st.status}
                               for st in stamps or [] if st.status != "stamped"],
        "tsa": {"ca": TSA_CA, "certs": TSA_CERTS, "commands": VERIFY_TXT,
                "legal_basis": timestamps.LEGAL_BASIS} if listed else None,
        "timeline": TIMELINE,
        "letter": {"path": LETTER, "lang": lang},
    }


class _Sink:
    """A write-only, non-seekable stream that hands out what zipfile wrote so far."""

    def __init__(self):
        self._parts: list[bytes] = []
        self._offset = 0

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _info(name: str, when: datetime, compress: int) -> zipfile.ZipInfo:
    local = timezone.localtime(when)
    info = zipfile.ZipInfo(name, date_time=(max(local.year, 1980), local.month, local.day, local.hour,
                                            local.minute, local.second))
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def stream(*, manifest_data: dict, timeline_data: dict, letter: str, evidence: list, stamps: list | None = None,
           tsa_ca_pem: str = ""):
    """Yield the ZIP in pieces: memory holds one chunk of one file at a time."""
    sink = _Sink()
    listed = manifest_data.get("timestamps") or []
    tokens = {token_path(st): bytes(st.token) for st in stamps or [] if st.status == "stamped"}
    now = timezone.now()
    timeline_bytes, letter_bytes = _json(timeline_data), letter.encode("utf-8")
    manifest_data = {**manifest_data, "documents": {
        TIMELINE: hashlib.sha256(timeline_bytes).hexdigest(), LETTER: hashlib.sha256(letter_bytes).hexdigest()}}
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        archive.writestr(_info(MANIFEST, now, zipfile.ZIP_DEFLATED), _json(manifest_data))
        yield sink.take()
        for item in evidence:
            if item.status != EvidenceStatus.ACTIVE:
                continue
            info = _info(file_path(item), item.captured_at, zipfile.ZIP_STORED)
            with open_stored(item.file.name) as src, \
                    archive.open(info, "w", force_zip64=item.size >= ZIP64_FROM) as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    yield sink.take()
            yield sink.take()
        archive.writestr(_info(TIMELINE, now, zipfile.ZIP_DEFLATED), timeline_bytes)
        archive.writestr(_info(LETTER, now, zipfile.ZIP_DEFLATED), letter_bytes)
        if listed:
            signers: dict[str, None] = {}
            for item in listed:
                token = tokens[item["path"]]
                archive.writestr(_info(item["path"], now, zipfile.ZIP_STORED), token)
                signer = timestamps.facts_of(token).signer_pem
                if signer:
                    signers[signer] = None
            archive.writestr(_info(TSA_CA, now, zipfile.ZIP_DEFLATED), tsa_ca_pem.encode())
            archive.writestr(_info(TSA_CERTS, now, zipfile.ZIP_DEFLATED), "".join(signers).encode())
            archive.writestr(_info(VERIFY_TXT, now, zipfile.ZIP_DEFLATED), verify_commands(listed).encode())
    yield sink.take()


# --- offline verification ------------------------------------------------------------------------------

def _unsafe(name: str) -> bool:
    return name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name


def _digest(archive, name) -> tuple[str, int]:
    """SHA-256 and size of a member; raises DamagedMember when the ZIP itself is damaged there."""
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(name) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except Exception as exc:  # CRC, compression, flags, truncation: any failure to read is damage
        raise DamagedMember(f"{name}: damaged inside the ZIP ({exc})") from exc
    return digest.hexdigest(), size


class DamagedMember(Exception):
    pass


def verify_bundle(path, *, tsa_ca: bytes | None = None) -> tuple[list[str], dict]:
    """Check a bundle without the database. Returns (problems, facts); no problems means it holds up.
    `tsa_ca` (PEM) is the TSA root to check the tokens against; by default the bundle's own tsa/ca.pem."""
    try:
        return _verify(path, tsa_ca=tsa_ca)
    except Exception as exc:  # a damaged archive must be reported, never crash the checker
        return [f"the archive is damaged and cannot be read: {exc.__class__.__name__}: {exc}"], {}


def _verify(path, *, tsa_ca: bytes | None = None) -> tuple[list[str], dict]:
    problems: list[str] = []
    facts: dict = {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable ZIP file: {exc}"], facts
    with archive:
        names = archive.namelist()
        for name in names:
            if _unsafe(name):
                problems.append(f"unsafe path in the archive: {name!r}")
        if len(names) != len(set(names)):
            problems.append("the archive has duplicate member names")
        if MANIFEST not in names:
            return [*problems, "manifest.json is missing"], facts
        try:
            data = json.loads(archive.read(MANIFEST).decode("utf-8"))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            return [*problems, f"manifest.json is damaged inside the ZIP ({exc})"], facts
        except (ValueError, UnicodeDecodeError) as exc:
            return [*problems, f"manifest.json is not valid JSON: {exc}"], facts
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return [*problems, "manifest.json is not a Kameng evidence bundle manifest"], facts
        entries = data.get("entries") or []
        head = (data.get("chain") or {}).get("head")
        length = (data.get("chain") or {}).get("length")
        facts = {"case": (data.get("case") or {}).get("reference"), "files": len(data.get("files") or []),
                 "entries": len(entries), "head": head}
        for problem in chain.check_entries(entries, head=head, length=length):
            problems.append(f"chain entry {problem['seq']}: {problem['problem']}")
        added = {e.get("seq"): e for e in entries if e.get("type") == chain.ADDED}
        revoked = {e.get("evidence") for e in entries if e.get("type") in chain.REVOCATIONS}
        listed = set()
        digests: dict[int, str] = {}
        for item in data.get("files") or []:
            name, seq = item.get("path"), item.get("sequence")
            listed.add(name)
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing from the archive")
                continue
            try:
                digest, size = _digest(archive, name)
            except DamagedMember as exc:
                problems.append(str(exc))
                continue
            digests[seq] = digest
            if digest != item.get("sha256"):
                problems.append(f"{name}: SHA-256 is {digest}, the manifest says {item.get('sha256')} "
                                "(the file was altered)")
            if size != item.get("size"):
                problems.append(f"{name}: {size} bytes, the manifest says {item.get('size')}")
            entry = added.get(seq)
            if entry is None:
                problems.append(f"{name}: no chain entry {seq} records this file")
            elif entry.get("file_sha256") != item.get("sha256"):
                problems.append(f"{name}: the manifest's SHA-256 differs from chain entry {seq}")
            if seq in revoked:
                problems.append(f"{name}: included although chain entry {seq} was withdrawn")
        problems.extend(_verify_tokens(archive, names, data, entries, digests, listed, facts, tsa_ca))
        for name in names:
            if name not in listed and name not in (MANIFEST, TIMELINE, LETTER) and not name.endswith("/"):
                problems.append(f"{name}: in the archive but not in the manifest")
        documents = data.get("documents") or {}
        for name in (TIMELINE, LETTER):
            if name not in names:
                problems.append(f"{name} is missing")
                continue
            try:
                digest, _size = _digest(archive, name)
            except DamagedMember as exc:
                problems.append(str(exc))
                continue
            if documents.get(name) != digest:
                problems.append(f"{name}: SHA-256 is {digest}, the manifest says {documents.get(name)} "
                                "(the document was altered)")
    return problems, facts


def _verify_tokens(archive, names, data, entries, digests, listed, facts, tsa_ca) -> list[str]:
    """Every token: present, signed by a TSA chaining to the CA, and over the file's own SHA-256 as computed
    from the bundle (items) or over the chain entry's hash at its sequence (heads)."""
    problems: list[str] = []
    tokens = data.get("timestamps") or []
    facts.update({"timestamps": len(tokens), "timestamps_pending": len(data.get("timestamps_pending") or []),
                  "head_stamped_at": None, "stamped_head": None})
    if not tokens:
        return problems
    for extra in (TSA_CA, TSA_CERTS, VERIFY_TXT):
        listed.add(extra)
    if tsa_ca is None:
        if TSA_CA not in names:
            return [f"{TSA_CA} is missing: the tokens cannot be checked"]
        tsa_ca = archive.read(TSA_CA)
    try:
        trust = timestamps.Trust.from_pem(tsa_ca)
    except ValueError as exc:
        return [f"the TSA CA certificate is not readable: {exc}"]
    by_seq = {e.get("seq"): e for e in entries}
    for item in tokens:
        path, seq, subject = item.get("path"), item.get("sequence"), item.get("subject")
        listed.add(path)
        if path not in names:
            problems.append(f"{path}: listed in the manifest but missing from the archive")
            continue
        try:
            token = archive.read(path)
        except Exception as exc:  # a damaged member
            problems.append(f"{path}: damaged inside the ZIP ({exc})")
            continue
        if subject == "item":
            expected = digests.get(seq)
            entry = by_seq.get(seq) or {}
            if expected is None:
                problems.append(f"{path}: no file with sequence {seq} in the bundle to compare with")
                continue
            if entry.get("file_sha256") != expected:
                problems.append(f"{path}: the file's SHA-256 differs from chain entry {seq}")
        elif subject == "head":
            expected = (by_seq.get(seq) or {}).get("hash")
            if expected is None:
                problems.append(f"{path}: chain entry {seq} is not in the bundle")
                continue
        else:
            problems.append(f"{path}: unknown timestamp subject {subject!r}")
            continue
        try:
            token_facts = timestamps.verify_token(token, digest_hex=expected, trust=trust)
        except timestamps.TimestampError as exc:
            problems.append(f"{path}: the timestamp does not hold up: {exc}")
            continue
        if subject == "head" and (facts["stamped_head"] is None or seq > facts["stamped_head"]):
            facts["stamped_head"], facts["head_stamped_at"] = seq, token_facts.gen_time.isoformat()
    return problems
