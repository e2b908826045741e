"""The procedure's documents, made the way escalation/documents.py makes the case's letters: one Django
template per document and language (procedure/templates/procedure/documents/<kind>.<lang>.txt), filled from a
context built here from the procedure, the case and the organization record (name, address, telephone,
document-number prefix, seal placeholder). The texts are fixed when the document is issued
(`IssuedDocument`: 文号 and date), so a later correction of the case does not rewrite a notice already sent;
`.docx` is made from the same text.

Layout of a Chinese administrative document (党政机关公文格式 GB/T 9704, as far as plain text goes): the
issuing body and the title centred, the number (文号) under them, the addressee (主送) followed by a colon,
the body (facts, the rule relied on with its article, the decision, what the addressee may do), and the sign-off
(落款: the body's name, the seal, the date) on the right."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from django.template import Context, Engine
from django.utils import timezone, translation

from escalation.documents import DOCX, FACT, Rendered, _money, _tidy
from escalation.words import ZH_NAMES

from . import rules
from .codes import DocumentKind, Track
from .models import IssuedDocument, Procedure

LANGS = ("zh-hans", "en")
FORMATS = ("txt", "docx")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
ENGINE = Engine(dirs=[str(TEMPLATES_DIR)], autoescape=False, app_dirs=False)
# The facts line per dispute type, looked up by the case's stored value (a str).
FACT_OF_TYPE: dict[str, tuple[str, str]] = {kind: words for kind, words in FACT.items()}


def _date(moment, zh: bool) -> str:
    if moment is None:
        return ""
    day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
    return f"{day.year}年{day.month}月{day.day}日" if zh else day.isoformat()


def _respondent(case, zh: bool) -> str:
    merchant, platform = case.merchant, case.platform
    if merchant is None:
        company = platform.company_name or platform.name
        return f"{company}（{platform.name}平台经营者）" if zh else f"{company} (operator of {platform.name})"
    if merchant.operator_name:
        return (f"{merchant.operator_name}（{platform.name}平台内经营者，店铺名称“{merchant.name}”）" if zh else
                f"{merchant.operator_name} (seller on {platform.name}, shop \"{merchant.name}\")")
    return (f"{platform.name}平台内经营者“{merchant.name}”（真实名称、地址未提供）" if zh else
            f"the seller \"{merchant.name}\" on {platform.name} (real name and address not given)")


def _claims(case, zh: bool) -> str:
    parts = []
    for claim in case.claims.all():
        label = ZH_NAMES.get(claim.kind, str(claim.get_kind_display())) if zh else str(claim.get_kind_display())
        parts.append(f"{label}{_money(claim.amount)}元" if zh and claim.amount is not None else
                     f"{label} {_money(claim.amount)} CNY" if claim.amount is not None else label)
    return ("、" if zh else ", ").join(parts)


def _unit(unit: str, zh: bool) -> str:
    if unit == "working_days":
        return "个工作日" if zh else " working days"
    return "日" if zh else " days"


def _basis(basis: rules.Basis, zh: bool) -> dict:
    citation = basis.citation if basis.law else ""
    return {"citation": citation, "text": basis.text_zh if zh else basis.text_en, "confirmed": basis.confirmed}


def document_context(*, proc: Procedure, kind: str, lang: str, number: str, issued_at) -> dict:
    zh = lang == "zh-hans"
    case = proc.case
    org = case.organization
    association = proc.track == Track.CONSUMER_ASSOCIATION
    facts_line = FACT_OF_TYPE.get(case.dispute_type, ("", ""))[0 if zh else 1]
    product = ZH_NAMES.get(case.product_type, str(case.get_product_type_display())) if zh else \
        str(case.get_product_type_display())
    context = {
        "zh": zh, "kind": kind, "number": number, "date": _date(issued_at, zh),
        "org": {"name": org.name, "address": org.address, "phone": org.phone, "seal": org.seal_text or "（印章）",
                "self": ("本会" if association else "本局") if zh else ("this association" if association else
                                                                          "this office")},
        "association": association,
        "consumer": case.consumer.name, "reference": case.reference,
        "registered": _date(proc.registered_at, zh), "decided": _date(proc.decided_at, zh),
        "respondent": _respondent(case, zh), "platform": case.platform.name,
        "order": {"number": case.order_number, "purchased": _date(case.purchased_at, zh), "product": product,
                  "paid": _money(case.amount_paid)},
        "facts_line": facts_line, "description": case.description.strip(), "claims": _claims(case, zh),
        "acceptance_basis": _basis(rules.acceptance_basis(track=proc.track, on=proc.rule_on), zh),
    }
    if proc.mediation_units is not None:
        version = proc.mediation_rule
        context["mediation"] = {
            "limit": f"{proc.mediation_units}{_unit(proc.mediation_unit, zh)}",
            "due": _date(proc.mediation_due_at, zh),
            "citation": (version.citation if version and version.article else version.law if version else ""),
            "confirmed": bool(version and version.confirmed),
        }
    if proc.refusal_ground:
        context["ground"] = _basis(rules.refusal_basis(proc.refusal_ground, track=proc.track, on=proc.rule_on), zh)
        context["instead"] = rules.GROUND_INSTEAD[proc.refusal_ground][0 if zh else 1]
    context["note"] = proc.decision_note.strip()
    if proc.forwarded_to:
        context["forwarded_to"] = proc.forwarded_to
        context["forward_basis"] = _basis(rules.forward_basis(track=proc.track, on=proc.rule_on), zh)
        merchant = case.merchant
        context["no_address"] = bool(merchant is None or not merchant.operator_address or merchant.unreachable)
    if proc.agreement_at:
        context["agreement"] = {
            "signed": _date(proc.agreement_at, zh), "amount": _money(proc.agreement_amount),
            "pay_by": _date(proc.agreement_pay_by, zh), "terms": proc.agreement_terms,
            "if_unpaid": proc.agreement_if_unpaid,
            "sessions": [{"held": _date(s.held_at, zh), "representative": s.merchant_representative,
                          "mediator": s.mediator} for s in proc.sessions.all()],
        }
    if proc.terminated_at:
        basis = rules.termination_basis(proc.termination_reason, track=proc.track, on=proc.rule_on)
        context["termination"] = {"date": _date(proc.terminated_at, zh), "basis": _basis(basis, zh),
                                  "note": proc.termination_note.strip(),
                                  "options": [o[0 if zh else 1] for o in rules.next_options(track=proc.track)]}
    support = getattr(proc, "support", None) if kind == DocumentKind.LAWSUIT_SUPPORT else None
    if support is not None:
        context["support"] = {"court": support.court, "facts": support.facts_found, "opinion": support.opinion,
                              "basis": _basis(rules.SUPPORT_BASIS, zh), "civil": _basis(rules.SUPPORT_CIVIL, zh)}
        context["termination_number"] = IssuedDocument.objects.filter(
            case=case, kind=DocumentKind.TERMINATION_NOTICE).values_list("number", flat=True).first() or ""
    return context


def document_text(*, proc: Procedure, kind: str, lang: str, number: str, issued_at) -> str:
    with translation.override(lang):
        context = document_context(proc=proc, kind=kind, lang=lang, number=number, issued_at=issued_at)
        template = ENGINE.get_template(f"procedure/documents/{kind}.{lang}.txt")
        return _tidy(template.render(Context(context, autoescape=False)))


def document_texts(*, proc: Procedure, kind: str, number: str, issued_at) -> tuple[str, str]:
    if kind not in DocumentKind.values:
        raise ValueError(kind)
    return (document_text(proc=proc, kind=kind, lang="zh-hans", number=number, issued_at=issued_at),
            document_text(proc=proc, kind=kind, lang="en", number=number, issued_at=issued_at))


def _docx(text: str) -> bytes:
    """The issuing body and the title centred and bold, the number centred, the sign-off (the last three lines:
    body, seal, date) on the right; 仿宋 body as administrative documents use."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(14)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")
    lines = text.rstrip("\n").split("\n")
    signoff = [i for i, line in enumerate(lines) if line.strip()][-3:]
    for index, raw in enumerate(lines):
        line = raw.strip()
        paragraph = document.add_paragraph()
        run = paragraph.add_run(line)
        if index in (0, 1):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run.bold = True
            run.font.size = Pt(22 if index == 1 else 16)
        elif index == 3:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif index in signoff:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif raw.startswith("    "):
            paragraph.paragraph_format.first_line_indent = Pt(28)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def document_render(*, document: IssuedDocument, lang: str = "zh-hans", fmt: str = "txt") -> Rendered:
    if lang not in LANGS:
        raise ValueError("lang")
    if fmt not in FORMATS:
        raise ValueError("format")
    text = document.text_zh if lang == "zh-hans" else document.text_en
    filename = f"{document.case.reference}-{document.kind}-{document.pk}-{lang}.{fmt}"
    if fmt == "docx":
        return Rendered(_docx(text), DOCX, filename)
    return Rendered(text.encode("utf-8"), "text/plain; charset=utf-8", filename)
