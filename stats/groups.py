"""A mass incident presented as a group complaint (群体投诉) that staff act on: its victims and their losses, one
shared evidence pack (a ZIP of each member case's own bundle, evidence/bundle.py, with a group manifest), and,
for a platform that absconded, the police report (报案材料) adding up the victims' losses
(escalation/documents.py, template `group_police_report`).

Always over the requesting organization's own cases of the incident. No consumer's name, phone or ID number
in the group's own files: victims are numbered ("受害人1") and the organization supplies their particulars to
the police separately. The member cases' bundles are the ones a case already has (their manifest names the
consumer, never the ID number), and every bundle put in a pack is audit-logged like a bundle download."""

from __future__ import annotations

import hashlib
import json
import zipfile
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.codes import DisputeType, ProductType
from cases.models import Case
from escalation.codes import RuleKey
from escalation.documents import group_document_render
from escalation.lawbook import CRIMINAL_LAW_266, FRAUD_BANDS, FRAUD_BANDS_SOURCE, RuleBook
from escalation.words import ZH_NAMES
from evidence import bundle
from evidence.selectors import bundle_contents
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict

from .models import MassIncident

PACK_FORMAT = "kameng-group-evidence-pack"
PACK_VERSION = 1
PACK_MANIFEST = "manifest.json"
# Dispute types that say the platform (or the seller behind it) took the money and vanished.
VANISHED_TYPES = frozenset({DisputeType.PLATFORM_ABSCONDED, DisputeType.FRAUD, DisputeType.MERCHANT_UNREACHABLE})
CASE_FIELDS = ("id", "reference", "status", "amount_paid", "amount_recovered", "consumer_id", "created_at",
               "product_type", "dispute_type", "organization_id", "platform_id", "merchant_id", "payee_account")


class NotVanished(Conflict):
    default_message = _("None of this group's complaints says the platform absconded or the seller vanished with "
                        "the money: a police report for fraud is not offered. Use the joint letter.")
    default_code = "not_absconded"


def incidents_for(organization_id: int | None):
    """The incidents with the organization's cases, each with `own_cases` (only those), newest first."""
    own = Case.objects.filter(organization_id=organization_id).only(*CASE_FIELDS).order_by("id")  # type: ignore[misc]  # None filters IS NULL (the stubs refuse None)
    return (MassIncident.objects.filter(cases__organization_id=organization_id).distinct()  # type: ignore[misc]  # None filters IS NULL (the stubs refuse None)
            .select_related("platform").prefetch_related(Prefetch("cases", queryset=own, to_attr="own_cases"))
            .order_by("-detected_at", "-id"))


def _money(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def victims(cases) -> list[dict]:
    """One row per consumer (a consumer with two complaints is one victim), numbered in the order of their first
    case: the case references and the sums paid, recovered and lost."""
    rows: dict[int, dict] = {}
    for case in sorted(cases, key=lambda c: c.id):
        row = rows.setdefault(case.consumer_id, {"cases": [], "paid": Decimal(0), "recovered": Decimal(0)})
        row["cases"].append(case.reference)
        row["paid"] += case.amount_paid or Decimal(0)
        row["recovered"] += case.amount_recovered or Decimal(0)
    out = []
    for number, row in enumerate(rows.values(), start=1):
        loss = max(row["paid"] - row["recovered"], Decimal(0))
        out.append({"number": number, "label": f"受害人{number}", "label_en": f"Victim {number}",
                    "cases": row["cases"], "paid": _money(row["paid"]), "recovered": _money(row["recovered"]),
                    "loss": _money(loss)})
    return out


def totals(victim_rows: list[dict], cases) -> dict:
    paid = sum((Decimal(v["paid"]) for v in victim_rows), Decimal(0))
    recovered = sum((Decimal(v["recovered"]) for v in victim_rows), Decimal(0))
    loss = sum((Decimal(v["loss"]) for v in victim_rows), Decimal(0))
    return {"cases": len(cases), "victims": len(victim_rows), "paid": _money(paid), "recovered": _money(recovered),
            "loss": _money(loss)}


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _case_rows(cases, victim_rows) -> list[dict]:
    victim_of = {ref: v for v in victim_rows for ref in v["cases"]}
    return [{
        "reference": c.reference, "opened": str(timezone.localtime(c.created_at).date()),
        "product": ZH_NAMES.get(c.product_type, str(ProductType(c.product_type).label)),
        "product_en": str(ProductType(c.product_type).label),
        "dispute": ZH_NAMES.get(c.dispute_type, str(DisputeType(c.dispute_type).label)),
        "dispute_en": str(DisputeType(c.dispute_type).label),
        "victim": victim_of[c.reference]["label"], "victim_en": victim_of[c.reference]["label_en"],
        "paid": _money(c.amount_paid), "recovered": _money(c.amount_recovered),
    } for c in sorted(cases, key=lambda c: c.id)]


def vanished(cases) -> bool:
    return any(c.dispute_type in VANISHED_TYPES for c in cases)


def police_report_context(*, incident: MassIncident, cases, organization) -> dict:
    """Everything the group's 报案材料 says: the platform, the sellers' handles and payee accounts (the accounts to
    freeze), each victim's loss and the total, the fraud amount bands with their source."""
    from cases.models import Merchant

    if not vanished(cases):
        raise NotVanished()
    victim_rows = victims(cases)
    total = totals(victim_rows, cases)
    loss = Decimal(total["loss"])
    bands = [{**band, "low": f"{band['low']:,.0f}", "high": f"{band['high']:,.0f}" if band["high"] else "",
              "reached": loss >= band["low"]} for band in FRAUD_BANDS]
    reached = next((b for b in reversed(bands) if b["reached"]), None)
    platform = incident.platform
    merchants = list(Merchant.objects.filter(pk__in={c.merchant_id for c in cases if c.merchant_id}).order_by("id"))
    today = timezone.localdate()
    threshold = RuleBook.load().get(RuleKey.FRAUD_THRESHOLD_GENERAL, today)
    return {
        "organization": organization.name,
        "platform": {"name": platform.name, "domain": (platform.domains or [""])[0] if platform.domains else "",
                     "company": platform.company_name, "credit_code": platform.credit_code,
                     "address": platform.address, "icp": platform.icp_number},
        "operators": sorted({m.operator_name for m in merchants if m.operator_name}),
        "nicknames": [m.name for m in merchants],
        "contacts": sorted({m.contact for m in merchants if m.contact}),
        "payees": sorted({c.payee_account for c in cases if c.payee_account}),
        "window_start": _local(incident.window_start), "window_end": _local(incident.window_end),
        "count": incident.count, "baseline": f"{incident.baseline_mean:.1f}",
        "victims": victim_rows, "totals": total, "cases": _case_rows(cases, victim_rows),
        "criminal_law": CRIMINAL_LAW_266, "bands": bands, "reached": reached, "source": FRAUD_BANDS_SOURCE,
        "threshold": {"value": f"{threshold.value:,.0f}" if threshold.value is not None else "",
                      "citation": threshold.citation},
        "today_text": f"{today.year}年{today.month}月{today.day}日",
    }


def police_report_render(*, incident: MassIncident, cases, organization, lang: str, fmt: str):
    context = police_report_context(incident=incident, cases=cases, organization=organization)
    if lang == "en":
        context["today_text"] = timezone.localdate().isoformat()
    return group_document_render(context=context, kind="group_police_report", lang=lang, fmt=fmt,
                                 filename=f"group-complaint-{incident.id}-police-report")


# --- the shared evidence pack ---------------------------------------------------------------------------------

def bundle_name(case) -> str:
    return f"cases/{case.reference}-bundle.zip"


def pack_manifest(*, incident: MassIncident, cases, listed: dict[str, dict]) -> dict:
    victim_rows = victims(cases)
    total = totals(victim_rows, cases)
    rows = _case_rows(cases, victim_rows)
    for row, case in zip(rows, sorted(cases, key=lambda c: c.id), strict=True):
        row.update(listed.get(case.reference, {}))
        row["bundle"] = bundle_name(case)
    return {
        "format": PACK_FORMAT, "version": PACK_VERSION, "generated_at": timezone.now().isoformat(),
        "group": {"incident": incident.id, "platform": incident.platform.name, "day": str(incident.day),
                  "window_start": incident.window_start.isoformat(), "window_end": incident.window_end.isoformat(),
                  "complaints_detected": incident.count},
        "totals": total,
        "victims": [{k: v[k] for k in ("label", "cases", "paid", "recovered", "loss")} for v in victim_rows],
        "cases": rows,
        "note": "Each bundle under cases/ is a case's own evidence bundle (manifest, files, hash chain, timeline, "
                "letter); check one with `manage.py verify_bundle`. The group's files name no consumer and carry "
                "no ID number.",
    }


def evidence_pack_audit(*, incident: MassIncident, cases, actor, request=None) -> None:
    """Every case bundle in a pack shows its consumer's name and phone: logged like a bundle download,
    before the first byte is sent."""
    for case in cases:
        audit_record(actor=actor, action="bundle_download", obj=case, request=request,
                     detail={"case": case.reference, "via": "group_evidence_pack", "incident": incident.id})


def evidence_pack_stream(*, incident: MassIncident, cases, lang: str = "zh-hans"):
    """Yield the pack's ZIP in pieces: each member case's bundle streamed into it (stored, it is already
    compressed), then the group manifest with each bundle's SHA-256 and size. Memory holds one chunk."""
    sink = bundle._Sink()
    listed: dict[str, dict] = {}
    now = timezone.now()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for case in sorted(cases, key=lambda c: c.id):
            full = Case.objects.select_related("platform", "consumer", "merchant", "organization").get(pk=case.pk)
            parts = bundle_contents(full, lang)
            digest, size = hashlib.sha256(), 0
            info = bundle._info(bundle_name(case), now, zipfile.ZIP_STORED)
            with archive.open(info, "w", force_zip64=True) as dst:
                for piece in bundle.stream(**parts):
                    digest.update(piece)
                    size += len(piece)
                    dst.write(piece)
                    yield sink.take()
            listed[case.reference] = {"bundle_sha256": digest.hexdigest(), "bundle_size": size,
                                      "files": len(parts["manifest_data"]["files"])}
            yield sink.take()
        manifest = pack_manifest(incident=incident, cases=cases, listed=listed)
        archive.writestr(bundle._info(PACK_MANIFEST, now, zipfile.ZIP_DEFLATED),
                         json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    yield sink.take()


def verify_pack(path) -> tuple[list[str], dict]:
    """Check a pack offline: the manifest, each bundle's SHA-256 and size, and each bundle itself
    (`evidence.bundle.verify_bundle`). No problems means it holds up."""
    import tempfile

    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable ZIP file: {exc}"], {}
    with archive:
        names = set(archive.namelist())
        if PACK_MANIFEST not in names:
            return ["manifest.json is missing"], {}
        manifest = json.loads(archive.read(PACK_MANIFEST).decode("utf-8"))
        if manifest.get("format") != PACK_FORMAT:
            return ["manifest.json is not a group evidence pack manifest"], {}
        for row in manifest.get("cases") or []:
            name = row.get("bundle")
            if name not in names:
                problems.append(f"{name}: listed in the manifest but missing from the archive")
                continue
            data = archive.read(name)
            if hashlib.sha256(data).hexdigest() != row.get("bundle_sha256") or len(data) != row.get("bundle_size"):
                problems.append(f"{name}: not the bundle the manifest describes (SHA-256 or size differs)")
                continue
            with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
                handle.write(data)
                handle.flush()
                inner, _facts = bundle.verify_bundle(handle.name)
            problems.extend(f"{name}: {problem}" for problem in inner)
        for name in names - {PACK_MANIFEST} - {row.get("bundle") for row in manifest.get("cases") or []}:
            problems.append(f"{name}: in the archive but not in the manifest")
    return problems, manifest
