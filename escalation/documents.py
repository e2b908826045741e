"""The documents a case sends: one Django template per document and language, as text or as a .docx.

`document_render(*, case, kind, lang, fmt)` is the one entry point (the API, the complaint letter, the
evidence bundle and the admin call it; an organization's own notices can add kinds the same way). The
context is built once, in Chinese and English words, by `document_context`; the templates only arrange it
(escalation/templates/escalation/documents/<kind>.<lang>.txt).

Kinds:
- complaint_merchant / complaint_platform / complaint_12315 / complaint_association / complaint (any other
  body): 投诉书 — facts as facts, the respondent's name and address, the consumer's contact, the law that
  grounds the claim (never a procedural rule as a ground), the claims, the evidence list;
- civil_complaint: 民事起诉状 in the structure of 民事诉讼法 art. 124 (原告, 被告 with identity and address,
  诉讼请求, 事实与理由, 证据和证据来源, 此致, 具状人, date, copies); the defendant is the real operator or the
  platform's company, never a shop nickname; when neither is known the document says what to obtain first
  (电子商务法 art. 27, 消费者权益保护法 art. 44);
- police_report: 报案材料 — the facts as a crime (刑法 art. 266), payee account, nicknames and handles, the
  amount, a request to 立案侦查 and recover the money;
- payment_dispute: the request to the payment channel, with the transaction number and no punitive claim.

The consumer's ID number never appears; a court filing leaves a blank for the particulars a clerk fills.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.template import Context, Engine
from django.utils import timezone, translation

from cases.codes import PROVINCE_ZH, ClaimKind, Deception, DisputeType, PaymentChannel
from evidence.selectors import evidence_for_documents
from kameng_api.core.audit import personal_data_shown
from kameng_api.core.languages import DOCUMENT_LANGS

from .codes import LEVEL_OF_CHANNEL, Channel
from .words import ZH_NAMES

LANGS = DOCUMENT_LANGS
FORMATS = ("txt", "docx")
KINDS = ("complaint_merchant", "complaint_platform", "complaint_12315", "complaint_association", "complaint",
         "civil_complaint", "police_report", "payment_dispute")
KIND_OF_CHANNEL: dict[str, str] = {
    Channel.MERCHANT: "complaint_merchant",
    Channel.PLATFORM: "complaint_platform",
    Channel.C12315: "complaint_12315",
    Channel.CONSUMER_ASSOCIATION: "complaint_association",
    Channel.SMALL_CLAIMS: "civil_complaint",
    Channel.LAWSUIT: "civil_complaint",
    Channel.POLICE: "police_report",
    Channel.PAYMENT_DISPUTE: "payment_dispute",
    Channel.CARD_CHARGEBACK: "payment_dispute",
}
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
ENGINE = Engine(dirs=[str(TEMPLATES_DIR)], autoescape=False, app_dirs=False)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLATFORM_TYPES = frozenset({DisputeType.MERCHANT_UNREACHABLE, DisputeType.PLATFORM_SHIRKING,
                            DisputeType.PLATFORM_ABSCONDED, DisputeType.ACCOUNT_THEFT, DisputeType.DATA_LEAK})
# Channels that take a report (举报) of unlawful conduct rather than a consumer's complaint.
REPORT_CHANNELS = frozenset({Channel.MARKET_REGULATOR, Channel.COMMUNICATIONS_ADMIN})
ACCOUNT_TYPES = frozenset({DisputeType.ACCOUNT_RECOVERED, DisputeType.ACCOUNT_BANNED, DisputeType.ACCOUNT_MISMATCH,
                           DisputeType.ACCOUNT_THEFT})


class DocumentError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class Rendered:
    content: bytes
    content_type: str
    filename: str


# What happened, as facts (never a dispute-type label), per dispute type.
FACT = {
    DisputeType.INVALID_CODE: ("经使用，商家交付的卡密／激活码无法兑换或激活。", "When used, the key or code the merchant delivered could not be redeemed or activated."),
    DisputeType.NOT_AS_DESCRIBED: ("商家交付的商品与其商品页的宣传不符。", "What the merchant delivered does not match what its product page advertised."),
    DisputeType.MISSING_FUNCTION: ("商家交付的商品缺少其宣传的功能。", "What the merchant delivered lacks a function it advertised."),
    DisputeType.DELIVERY_DELAY: ("付款成功后，商品至今未到账。", "The payment went through, but the goods have not arrived."),
    DisputeType.FAKE_DELIVERY: ("订单显示已发货，但实际没有收到可用的商品。", "The order shows as delivered, but nothing usable was received."),
    DisputeType.REFUND_REFUSED: ("本人申请退款，商家拒绝退款。", "I asked for a refund and the merchant refused."),
    DisputeType.ACCOUNT_RECOVERED: ("所购游戏账号交付后被原账号持有人找回，本人已无法登录。", "The game account bought was recovered by its original holder after delivery; I can no longer log in."),
    DisputeType.ACCOUNT_BANNED: ("所购账号交付后被封禁，无法使用。", "The account bought was banned after delivery and cannot be used."),
    DisputeType.ACCOUNT_MISMATCH: ("所购账号的内容与商品描述不符。", "The account bought does not match its description."),
    DisputeType.ACCOUNT_THEFT: ("本人的账号被他人盗用，造成损失。", "My account was taken over by someone else, causing a loss."),
    DisputeType.DATA_LEAK: ("本人在该平台留存的个人信息被泄露，此后收到诈骗或骚扰信息。", "Personal data I left with the platform leaked; since then I receive scam or nuisance messages."),
    DisputeType.MERCHANT_UNREACHABLE: ("问题发生后，商家不再回复，无法联系。", "After the problem arose, the merchant stopped answering and cannot be reached."),
    DisputeType.PLATFORM_SHIRKING: ("商家与平台相互推诿，均不处理。", "The merchant and the platform each refer me to the other; neither acts."),
    DisputeType.UNFAIR_TERMS: ("商家／平台以“概不退换”等格式条款为由拒绝处理。", "The merchant or platform refuses, relying on standard terms such as 'no returns'."),
    DisputeType.PLATFORM_ABSCONDED: ("平台收取款项后关闭网站、停止服务，无法联系。", "The platform took the money, closed its site, stopped its service and cannot be reached."),
    DisputeType.FRAUD: ("对方收款后既未交付商品，也不再回复，已无法联系。", "The other party took the money, delivered nothing, and no longer answers."),
}

LAW = {
    "contract": ("《中华人民共和国民法典》第五百七十七条：当事人一方不履行合同义务或者履行合同义务不符合约定的，应当承担继续履行、采取补救措施或者赔偿损失等违约责任。",
                 "Civil Code art. 577: a party that fails to perform or performs not as agreed shall continue to perform, take remedial measures or compensate."),
    "formation": ("《中华人民共和国电子商务法》第四十九条：电子商务经营者发布的商品或者服务信息符合要约条件的，用户选择该商品或者服务并提交订单成功，合同成立。",
                  "E-Commerce Law art. 49: the contract is formed when the user submits the order for goods offered."),
    "defect": ("《中华人民共和国消费者权益保护法》第二十四条：经营者提供的商品或者服务不符合质量要求的，消费者可以依照国家规定、当事人约定退货，或者要求经营者履行更换、修理等义务；《中华人民共和国民法典》第五百八十二条：履行不符合约定的，受损害方可以合理选择请求对方承担修理、重作、更换、退货、减少价款或者报酬等违约责任。第二十五条关于数字化商品不适用无理由退货的规定，不适用于有质量问题的商品。",
               "CPL art. 24: goods not meeting quality requirements may be returned or replaced; Civil Code art. 582: the injured party may choose return, replacement or price reduction. Art. 25's exclusion of digital goods from no-reason returns does not cover defective goods."),
    "unfair_terms": ("《中华人民共和国消费者权益保护法》第二十六条第二款、第三款：经营者不得以格式条款等方式，作出排除或者限制消费者权利、减轻或者免除经营者责任、加重消费者责任等对消费者不公平、不合理的规定；格式条款等含有前款所列内容的，其内容无效。",
                     "CPL art. 26(2)(3): standard terms that exclude or restrict consumers' rights or relieve the business of liability are void."),
    "platform": ("《中华人民共和国消费者权益保护法》第四十四条第一款：网络交易平台提供者不能提供销售者或者服务者的真实名称、地址和有效联系方式的，消费者也可以向网络交易平台提供者要求赔偿；网络交易平台提供者作出更有利于消费者的承诺的，应当履行承诺。",
                 "CPL art. 44(1): a platform that cannot give the seller's real name, address and contact details is liable to the consumer, and must keep promises more favourable to the consumer."),
    "records": ("《中华人民共和国电子商务法》第六十二条：在电子商务争议处理中，电子商务经营者应当提供原始合同和交易记录。",
                "E-Commerce Law art. 62: in an e-commerce dispute the operator shall produce the original contract and transaction records."),
    "data": ("《中华人民共和国消费者权益保护法》第二十九条：经营者应当对收集的消费者个人信息严格保密；《中华人民共和国个人信息保护法》第五十条：个人信息处理者应当建立便捷的个人行使权利的申请受理和处理机制，拒绝个人行使权利的请求的，应当说明理由。",
             "CPL art. 29: businesses keep consumers' personal data confidential; PIPL art. 50: the handler must accept and handle individuals' requests and give reasons for a refusal."),
    "punitive": ("《中华人民共和国消费者权益保护法》第五十五条第一款：经营者提供商品或者服务有欺诈行为的，应当按照消费者的要求增加赔偿其受到的损失，增加赔偿的金额为消费者购买商品的价款的三倍；增加赔偿的金额不足五百元的，为五百元。",
                 "CPL art. 55(1): where the business deceived the consumer, it pays in addition three times the price, at least 500 CNY."),
    "minor": ("《中华人民共和国民法典》第十九条、第一百四十五条：八周岁以上的未成年人为限制民事行为能力人，其实施的与其年龄、智力不相适应的民事法律行为，经法定代理人同意或者追认后有效；法定代理人未追认的，该行为不发生效力。",
              "Civil Code arts. 19, 145: a minor's act beyond the minor's age and understanding takes effect only when the guardian consents or ratifies it."),
    "crime": ("《中华人民共和国刑法》第二百六十六条：诈骗公私财物，数额较大的，处三年以下有期徒刑、拘役或者管制，并处或者单处罚金。",
              "Criminal Law art. 266: obtaining property by fraud in a relatively large amount is a crime."),
}


def _money(value) -> str:
    return f"{Decimal(value):.2f}" if value is not None else ""


def _when(moment, zh: bool) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return (f"{local.year}年{local.month}月{local.day}日{local.hour}时{local.minute:02d}分" if zh
            else local.strftime("%Y-%m-%d %H:%M"))


def _name(code: str, label, zh: bool) -> str:
    return ZH_NAMES.get(code, str(label)) if zh else str(label)


def _laws(case, kind: str, deception: bool, platform_liable: bool = True) -> list[str]:
    keys = ["formation", "contract"]
    if case.dispute_type in FACT and case.dispute_type not in PLATFORM_TYPES | {DisputeType.REFUND_REFUSED,
                                                                                DisputeType.FRAUD}:
        keys.append("defect")
    if getattr(case, "key_redeemed_on_receipt", None) and "defect" not in keys:
        keys.append("defect")
    if case.dispute_type == DisputeType.UNFAIR_TERMS:
        keys.append("unfair_terms")
    if case.dispute_type in PLATFORM_TYPES or kind == "complaint_platform" or (
            kind == "civil_complaint" and platform_liable) or (case.merchant is not None and case.merchant.unreachable):
        keys.append("platform")
    if case.dispute_type in ACCOUNT_TYPES or kind == "complaint_platform":
        keys.append("records")
    if case.dispute_type == DisputeType.DATA_LEAK:
        keys.append("data")
    if getattr(case, "consumer_is_minor", False):
        keys.append("minor")
    if deception and kind not in ("payment_dispute",) and any(c.kind == ClaimKind.PUNITIVE for c in case.claims.all()):
        keys.append("punitive")
    return keys


def document_context(*, case, kind: str, lang: str, channel: str | None = None) -> dict:
    """Everything a document says about the case, in the document's language."""
    from cases.rules import has_deception

    zh = lang == "zh-hans"
    platform = case.platform
    merchant = case.merchant
    deception = has_deception(dispute_type=case.dispute_type, deception=getattr(case, "deception", ""),
                              fraud_suspected=case.fraud_suspected)
    nickname = merchant.name if merchant else ""
    operator = (merchant.operator_name if merchant else "") or ""
    payment = _name(case.payment_channel, case.get_payment_channel_display(), zh)
    product = _name(case.product_type, case.get_product_type_display(), zh)
    domain = (platform.domains or [""])[0] if isinstance(platform.domains, list) and platform.domains else ""
    escalations = []
    for esc in case.escalations.all():
        escalations.append({
            "when": _when(esc.submitted_at, zh), "channel": _name(esc.channel, Channel(esc.channel).label, zh),
            "reference": esc.external_reference, "outcome": _name(esc.outcome, esc.get_outcome_display(), zh),
            "response": esc.response,
        })
    claims, total = [], Decimal(0)
    for claim in case.claims.all():
        if kind == "payment_dispute" and claim.kind != ClaimKind.REFUND:
            continue
        if claim.kind == ClaimKind.PUNITIVE and not deception:
            continue
        label = _name(claim.kind, claim.get_kind_display(), zh)
        claims.append({"label": label, "amount": _money(claim.amount) if claim.amount is not None else ""})
        total += claim.amount or 0
    if kind == "payment_dispute" and not claims:
        claims.append({"label": _name("refund", "Refund", zh), "amount": _money(case.amount_paid)})
        total = case.amount_paid
    # Defendants of a court filing: the real operator, and the platform's company where it answers (art. 44).
    defendants = []
    if operator:
        defendants.append({"name": operator, "credit_code": merchant.operator_credit_code,
                           "address": merchant.operator_address, "role": "seller", "contact": merchant.contact})
    platform_liable = not operator or case.dispute_type in PLATFORM_TYPES or (merchant and merchant.unreachable)
    if platform.company_name and platform_liable:
        defendants.append({"name": platform.company_name, "credit_code": platform.credit_code,
                           "address": platform.address, "role": "platform", "contact": domain})
    report = channel in REPORT_CHANNELS
    labels = ("被告一", "被告二", "被告三")
    for index, defendant in enumerate(defendants):
        defendant["label"] = labels[index] if len(defendants) > 1 else "被告"
        defendant["label_en"] = f"Defendant {index + 1}" if len(defendants) > 1 else "Defendant"
    court_claims = []
    for claim in case.claims.all():
        amount = _money(claim.amount) if claim.amount is not None else ""
        if claim.kind == ClaimKind.REFUND:
            court_claims.append(f"判令被告退还货款{amount}元；" if zh else f"Order the defendant to refund {amount} CNY;")
        elif claim.kind == ClaimKind.COMPENSATION:
            court_claims.append(f"判令被告赔偿损失{amount}元；" if zh else f"Order the defendant to compensate {amount} CNY of loss;")
        elif claim.kind == ClaimKind.REDELIVERY:
            court_claims.append(f"判令被告交付符合约定的{product}；" if zh else f"Order the defendant to deliver a conforming {product};")
        elif claim.kind == ClaimKind.PUNITIVE and deception:
            court_claims.append(f"判令被告支付惩罚性赔偿金{amount}元（价款的三倍，不足五百元的为五百元）；" if zh else
                                f"Order the defendant to pay {amount} CNY of punitive damages (three times the price, at least 500 CNY);")
    court_claims.append("判令被告承担本案诉讼费用。" if zh else "Order the defendant to bear the costs.")
    facts_line = FACT.get(case.dispute_type, ("", ""))[0 if zh else 1]
    deception_kind = getattr(case, "deception", "")
    deception_text = ""
    if deception_kind == Deception.FALSE_ADVERTISING:
        deception_text = ("经营者在商品页作出的宣传与实际不符，属于虚假宣传。" if zh else
                          "What the merchant advertised on its product page was untrue: false advertising.")
    elif deception_kind == Deception.CONCEALMENT:
        deception_text = ("经营者明知商品存在上述问题而故意隐瞒。" if zh else
                          "The merchant knew of the problem and deliberately concealed it.")
    personal_data_shown(consumer=case.consumer, case=case)
    return {
        "zh": zh, "kind": kind, "channel": channel or "",
        "words": {"report": report, "complainant": "举报人" if report else "投诉人",
                  "respondent": "被举报人" if report else "被投诉人",
                  "complainant_en": "Reporter" if report else "Complainant"},
        "channel_name": _name(channel, Channel(channel).label, zh) if channel else "",
        "reference": case.reference, "today": timezone.localdate(),
        "today_text": (lambda d: f"{d.year}年{d.month}月{d.day}日" if zh else d.isoformat())(timezone.localdate()),
        "consumer": {"name": case.consumer.name, "phone": case.consumer.phone,
                     "province": PROVINCE_ZH.get(getattr(case, "consumer_province", ""), "") if zh else
                     str(case.get_consumer_province_display() or "") if getattr(case, "consumer_province", "") else ""},
        "platform": {"name": platform.name, "domain": domain, "company": platform.company_name,
                     "credit_code": platform.credit_code, "address": platform.address, "icp": platform.icp_number},
        "merchant": {"nickname": nickname, "operator": operator,
                     "credit_code": merchant.operator_credit_code if merchant else "",
                     "address": merchant.operator_address if merchant else "",
                     "contact": merchant.contact if merchant else "", "shop_url": merchant.shop_url if merchant else "",
                     "unreachable": bool(merchant and merchant.unreachable)},
        "order": {"number": case.order_number, "product": product, "face_value": _money(case.face_value),
                  "paid": _money(case.amount_paid), "payment": payment,
                  "payment_reference": getattr(case, "payment_reference", ""),
                  "payee": getattr(case, "payee_account", ""),
                  "purchased": _when(case.purchased_at, zh), "delivered": _when(case.delivered_at, zh),
                  "found": _when(case.problem_found_at, zh),
                  "redeemed": getattr(case, "key_redeemed_on_receipt", None)},
        "facts_line": facts_line, "description": case.description, "promise": case.merchant_promise,
        "deception": deception, "deception_text": deception_text, "minor": getattr(case, "consumer_is_minor", False),
        "escalations": escalations, "claims": claims, "total": _money(total) if total else "",
        "laws": [LAW[key][0 if zh else 1] for key in _laws(case, kind, deception, bool(platform_liable))],
        "facts_line_court": facts_line.replace("商家", "被告") if zh else facts_line.replace("the merchant", "the defendant"),
        "facts_line_police": facts_line.replace("商家", "对方") if zh else facts_line.replace("the merchant", "the other party"),
        "defendants": defendants, "copies": max(len(defendants), 1), "court_claims": court_claims,
        "absconded": case.dispute_type == DisputeType.PLATFORM_ABSCONDED,
        "evidence": evidence_for_documents(case=case),
        "wallet": case.payment_channel in (PaymentChannel.ALIPAY, PaymentChannel.WECHAT),
    }


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def document_text(*, case, kind: str, lang: str = "zh-hans", channel: str | None = None) -> str:
    if lang not in LANGS:
        raise DocumentError("lang", f"Unknown language {lang!r}: use zh-hans or en.")
    if kind not in KINDS:
        raise DocumentError("kind", f"Unknown document {kind!r}: one of {', '.join(KINDS)}.")
    with translation.override(lang):
        context = document_context(case=case, kind=kind, lang=lang, channel=channel)
        template = ENGINE.get_template(f"escalation/documents/{kind}.{lang}.txt")
        return _tidy(template.render(Context(context, autoescape=False)))


HEADING = re.compile(r"^([一二三四五六七八九十]+、|\d+\. |原告|被告|诉讼请求|事实与理由|证据和证据来源|此致|报案人|被报案人|报案单位|"
                     r"Plaintiff|Defendant|Claims|Facts and reasons|Evidence|To:)")


def _docx(text: str) -> bytes:
    """The text as an editable Word document: the title centred and bold, headings bold, SimSun body."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    lines = text.rstrip("\n").split("\n")
    for index, line in enumerate(lines):
        paragraph = document.add_paragraph()
        run = paragraph.add_run(line)
        if index == 0:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run.bold = True
            run.font.size = Pt(18)
        elif HEADING.match(line):
            run.bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def document_render(*, case, kind: str, lang: str = "zh-hans", fmt: str = "txt",
                    channel: str | None = None) -> Rendered:
    """The document `kind` of `case` in `lang`, as UTF-8 text or as .docx."""
    if fmt not in FORMATS:
        raise DocumentError("format", f"Unknown format {fmt!r}: use txt or docx.")
    text = document_text(case=case, kind=kind, lang=lang, channel=channel)
    filename = f"{case.reference}-{kind}-{lang}.{fmt}"
    if fmt == "docx":
        return Rendered(_docx(text), DOCX, filename)
    return Rendered(text.encode("utf-8"), "text/plain; charset=utf-8", filename)


GROUP_KINDS = ("group_police_report",)


def group_document_render(*, context: dict, kind: str, lang: str = "zh-hans", fmt: str = "txt",
                          filename: str) -> Rendered:
    """A document of a group of cases (a 群体投诉) from its template
    (escalation/templates/escalation/documents/<kind>.<lang>.txt) and a context the caller built — the group's
    figures, victims and cases, never a consumer's ID number — as UTF-8 text or as .docx."""
    if lang not in LANGS:
        raise DocumentError("lang", f"Unknown language {lang!r}: use zh-hans or en.")
    if fmt not in FORMATS:
        raise DocumentError("format", f"Unknown format {fmt!r}: use txt or docx.")
    if kind not in GROUP_KINDS:
        raise DocumentError("kind", f"Unknown document {kind!r}: one of {', '.join(GROUP_KINDS)}.")
    with translation.override(lang):
        template = ENGINE.get_template(f"escalation/documents/{kind}.{lang}.txt")
        text = _tidy(template.render(Context({**context, "zh": lang == "zh-hans"}, autoescape=False)))
    name = f"{filename}-{lang}.{fmt}"
    if fmt == "docx":
        return Rendered(_docx(text), DOCX, name)
    return Rendered(text.encode("utf-8"), "text/plain; charset=utf-8", name)


def kind_of_channel(channel: str) -> str:
    if channel not in LEVEL_OF_CHANNEL:
        raise DocumentError("channel", f"Unknown channel {channel!r}.")
    return KIND_OF_CHANNEL.get(channel, "complaint")
