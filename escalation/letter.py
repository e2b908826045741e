"""The complaint letter: 事实 + 依据 + 诉求 (seed 000's template: "本人于X月X日购买XX(订单号XXX)…
根据平台《交易规则》第X条…现申请全额退款"), then the evidence list with hashes.

`letter_text(case, lang, channel)` is the one entry point (the API and the evidence bundle call it).
The consumer is named; the ID number never appears.
"""

from __future__ import annotations

from django.apps import apps
from django.utils import timezone, translation
from django.utils.translation import gettext

from cases.codes import ClaimKind, DisputeType
from kameng_api.core.audit import personal_data_shown

from .codes import LEVEL_OF_CHANNEL, Channel

LANGS = ("zh-hans", "en")

# Who the letter is addressed to, per channel.
ADDRESSEE = {
    Channel.MERCHANT: ("商家 {merchant}", "The merchant {merchant}"),
    Channel.PLATFORM: ("{platform} 平台纠纷处理中心", "The dispute centre of {platform}"),
    Channel.C12315: ("全国12315平台(市场监督管理部门)", "The national 12315 platform (market regulation)"),
    Channel.CONSUMER_ASSOCIATION: ("消费者协会", "The consumer association (消费者协会)"),
    Channel.MARKET_REGULATOR: ("市场监督管理局", "The market regulation bureau"),
    Channel.CYBERSPACE_ADMIN: ("网信部门(网络安全投诉)", "The cyberspace administration (网信)"),
    Channel.PAYMENT_DISPUTE: ("{payment} 交易争议处理", "The transaction-dispute service of {payment}"),
    Channel.PUBLIC_COMPLAINT: ("黑猫投诉 / 聚投诉", "The public complaint site (黑猫投诉 / 聚投诉)"),
    Channel.INDUSTRY_ASSOCIATION: ("行业协会(如中国互联网协会)", "The industry association (e.g. Internet Society of China)"),
    Channel.CARD_CHARGEBACK: ("发卡银行(申请交易撤销)", "The card-issuing bank (transaction reversal)"),
    Channel.SMALL_CLAIMS: ("人民法院(小额诉讼程序)", "The people's court (small-claims procedure)"),
    Channel.LAWSUIT: ("人民法院", "The people's court"),
    Channel.POLICE: ("公安机关", "The police"),
    Channel.LEGAL_AID: ("法律援助中心", "The legal-aid centre"),
}

# The law cited, per dispute type and claim (seeds 000, 001, 002, 004).
LAW = {
    "contract": ("《电子商务法》第四十九条:用户选择商品并提交订单成功,合同成立;《民法典》第五百七十七条:履行不符合约定的,应承担继续履行、采取补救措施或者赔偿损失等违约责任。",
                 "E-Commerce Law art. 49: the contract is formed when the order is submitted; Civil Code art. 577: "
                 "a party whose performance does not conform must perform, remedy or compensate."),
    "unfair_terms": ("《消费者权益保护法》第二十六条:经营者不得以格式条款等方式,作出排除或者限制消费者权利、加重消费者责任等对消费者不公平、不合理的规定,其内容无效。",
                     "Consumer Rights Protection Law art. 26: standard terms that exclude or restrict consumers' "
                     "rights are void."),
    "punitive": ("《消费者权益保护法》第五十五条:经营者有欺诈行为的,按照消费者的要求增加赔偿其受到的损失,增加赔偿的金额为购买商品价款的三倍;不足五百元的,为五百元。",
                 "Consumer Rights Protection Law art. 55: for fraud, the business pays three times the price "
                 "in addition, at least 500 CNY."),
    "platform": ("《消费者权益保护法》第四十四条:网络交易平台提供者不能提供销售者的真实名称、地址和有效联系方式的,消费者可以向网络交易平台提供者要求赔偿。",
                 "Consumer Rights Protection Law art. 44: a platform that cannot give the seller's real name, "
                 "address and contact details is liable to the consumer."),
    "data": ("《消费者权益保护法》第二十九条:经营者应当对收集的消费者个人信息严格保密,采取技术措施防止信息泄露。",
             "Consumer Rights Protection Law art. 29: businesses must keep consumers' personal data confidential "
             "and prevent leaks."),
    "12315": ("《市场监督管理投诉举报处理暂行办法》第十四条:自收到投诉之日起七个工作日内作出受理或者不予受理的决定。",
              "Interim Measures on Market Regulation Complaints art. 14: accept or refuse within seven working "
              "days of receipt."),
}
# Chinese names for the letter (the code labels are English msgids).
ZH_NAMES = {
    "merchant": "商家协商", "platform": "平台介入", "12315": "12315平台", "consumer_association": "消费者协会",
    "market_regulator": "市场监督管理部门", "cyberspace_admin": "网信部门", "payment_dispute": "支付渠道争议处理",
    "public_complaint": "公开投诉平台", "industry_association": "行业协会", "card_chargeback": "信用卡拒付",
    "small_claims": "小额诉讼", "lawsuit": "民事诉讼", "police": "公安机关报案", "legal_aid": "法律援助",
    # dispute types
    "invalid_code": "卡密无效/激活失败", "not_as_described": "商品与描述不符", "missing_function": "功能缺失",
    "delivery_delay": "延迟发货/充值未到账", "fake_delivery": "虚假发货", "refund_refused": "拒绝退款",
    "account_recovered": "账号被原主找回", "account_banned": "账号被封", "account_mismatch": "账号与描述不符",
    "account_theft": "账号被盗", "data_leak": "个人信息泄露", "merchant_unreachable": "商家失联",
    "platform_shirking": "平台推诿", "unfair_terms": "霸王条款", "platform_absconded": "平台跑路",
    "fraud": "收款后失联(欺诈)",
    # product types
    "game_card": "游戏点卡", "phone_recharge": "话费充值", "activation_key": "软件激活码", "game_account": "游戏账号",
    "virtual_currency": "虚拟货币", "membership": "会员服务", "other": "其他",
    # payment channels
    "alipay": "支付宝", "wechat": "微信支付", "bank_card": "银行卡", "credit_card": "信用卡",
    "platform_balance": "平台余额",
    # claims
    "refund": "退款", "redelivery": "补发/更换", "compensation": "赔偿直接损失", "punitive": "惩罚性赔偿(退一赔三)",
    # outcomes
    "pending": "待答复", "accepted": "已受理", "resolved": "已解决", "partial": "部分解决", "refused": "被拒绝",
    "no_response": "未答复",
}


def _name(code: str, label, zh: bool) -> str:
    return ZH_NAMES.get(code, str(label)) if zh else str(label)


PLATFORM_TYPES = frozenset({DisputeType.MERCHANT_UNREACHABLE, DisputeType.PLATFORM_SHIRKING,
                            DisputeType.PLATFORM_ABSCONDED, DisputeType.ACCOUNT_THEFT})


class LetterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _evidence_rows(case) -> list[dict] | None:
    """Active evidence items (kind, description, sha256), if the evidence app provides a model; else None."""
    if not apps.is_installed("evidence"):
        return None
    try:
        model = apps.get_model("evidence", "Evidence")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    qs = model.objects.filter(case=case)
    if "status" in names:
        qs = qs.filter(status="active")
    for name in ("withdrawn_at", "superseded_by"):
        if name in names:
            qs = qs.filter(**{f"{name}__isnull": True})
    order = [f for f in ("occurred_at", "id") if f in names or f == "id"]
    rows = []
    for item in qs.order_by(*order):
        kind = getattr(item, "get_kind_display", lambda i=item: getattr(i, "kind", ""))()
        rows.append({"kind": str(kind), "description": getattr(item, "description", "") or "",
                     "sha256": getattr(item, "sha256", "") or ""})
    return rows


def _fmt(moment, lang) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return local.strftime("%Y年%m月%d日 %H:%M") if lang == "zh-hans" else local.strftime("%Y-%m-%d %H:%M")


def _laws(case, channel) -> list[str]:
    keys = ["contract"]
    if case.dispute_type == DisputeType.UNFAIR_TERMS:
        keys.append("unfair_terms")
    if case.dispute_type in PLATFORM_TYPES or channel == Channel.PLATFORM:
        keys.append("platform")
    if case.dispute_type == DisputeType.DATA_LEAK:
        keys.append("data")
    if any(c.kind == ClaimKind.PUNITIVE for c in case.claims.all()):
        keys.append("punitive")
    if channel in (Channel.C12315, Channel.MARKET_REGULATOR):
        keys.append("12315")
    return keys


def letter_text(case, lang: str = "zh-hans", channel: str | None = None) -> str:
    """The complaint letter for `channel` (default: the recommended one) in `lang` (zh-hans | en)."""
    if lang not in LANGS:
        raise LetterError("lang", gettext("Unknown language %(lang)s: use zh-hans or en.") % {"lang": repr(lang)})
    if channel is None:
        from .recommendation import recommend

        channel = recommend(case, lang=lang)["channel"]
    if channel not in LEVEL_OF_CHANNEL:
        raise LetterError("channel", gettext("Unknown channel %(channel)s.") % {"channel": repr(channel)})
    with translation.override(lang):
        return _render(case, lang, channel)


def _render(case, lang: str, channel: str) -> str:
    zh = lang == "zh-hans"
    platform = case.platform
    merchant = case.merchant.name if case.merchant else ("(未知商家)" if zh else "(unknown merchant)")
    payment = _name(case.payment_channel, case.get_payment_channel_display(), zh)
    addressee = ADDRESSEE[channel][0 if zh else 1].format(merchant=merchant, platform=platform.name, payment=payment)
    name = case.consumer.name
    personal_data_shown(consumer=case.consumer, case=case)
    product = _name(case.product_type, case.get_product_type_display(), zh)
    dispute = _name(case.dispute_type, case.get_dispute_type_display(), zh)
    domain = (platform.domains or [""])[0] if isinstance(platform.domains, list) else ""
    lines: list[str] = []
    add = lines.append
    if zh:
        add(f"投诉书 — {ZH_NAMES[channel]}")
        add(f"致:{addressee}")
        add(f"投诉人:{name}    案件编号:{case.reference}")
        party = f"{platform.name}" + (f"({domain})" if domain else "")
        if platform.company_name:
            party += f",运营主体:{platform.company_name}"
        if platform.credit_code:
            party += f"(统一社会信用代码 {platform.credit_code})"
        add(f"被投诉方:商家 {merchant},平台 {party}")
        add("")
        add("一、事实")
        face = f",面值{case.face_value}元" if case.face_value is not None else ""
        add(f"本人于{_fmt(case.purchased_at, lang)}在{platform.name}向商家{merchant}购买{product}(订单号{case.order_number}){face},"
            f"实付{case.amount_paid}元,通过{payment}支付。")
        if case.delivered_at:
            add(f"商家于{_fmt(case.delivered_at, lang)}交付。")
        else:
            add("商家至今未交付。")
        if case.merchant_promise:
            add(f"商家承诺:“{case.merchant_promise}”。")
        add(f"本人于{_fmt(case.problem_found_at, lang)}发现问题:{dispute}。")
        if case.description:
            add(f"经过:{case.description}")
        for esc in case.escalations.all():
            ref = f"(编号{esc.external_reference})" if esc.external_reference else ""
            answer = f",答复:{esc.response}" if esc.response else ""
            add(f"本人已于{_fmt(esc.submitted_at, lang)}向{ZH_NAMES[esc.channel]}投诉{ref},结果:{ZH_NAMES[esc.outcome]}{answer}。")
        add("")
        add("二、依据")
        if channel in (Channel.MERCHANT, Channel.PLATFORM):
            add(f"平台《交易规则》及其公布的投诉时限({platform.complaint_window_hours}小时)。")
        for key in _laws(case, channel):
            add(LAW[key][0])
        add("")
        add("三、诉求")
    else:
        add(f"Complaint — {Channel(channel).label}")
        add(f"To: {addressee}")
        add(f"Complainant: {name}    Case: {case.reference}")
        party = platform.name + (f" ({domain})" if domain else "")
        if platform.company_name:
            party += f", operated by {platform.company_name}"
        if platform.credit_code:
            party += f" (unified social credit code {platform.credit_code})"
        add(f"Against: the merchant {merchant} and the platform {party}")
        add("")
        add("1. Facts")
        face = f", face value {case.face_value} CNY" if case.face_value is not None else ""
        add(f"On {_fmt(case.purchased_at, lang)} I bought {product} from the merchant {merchant} on {platform.name} "
            f"(order number {case.order_number}){face}, paying {case.amount_paid} CNY by {payment}.")
        add(f"It was delivered on {_fmt(case.delivered_at, lang)}." if case.delivered_at
            else "It has not been delivered.")
        if case.merchant_promise:
            add(f"The merchant promised: \"{case.merchant_promise}\".")
        add(f"On {_fmt(case.problem_found_at, lang)} I found the problem: {dispute}.")
        if case.description:
            add(f"What happened: {case.description}")
        for esc in case.escalations.all():
            ref = f" (reference {esc.external_reference})" if esc.external_reference else ""
            answer = f"; answer: {esc.response}" if esc.response else ""
            add(f"On {_fmt(esc.submitted_at, lang)} I complained to {Channel(esc.channel).label}{ref}; "
                f"outcome: {esc.get_outcome_display()}{answer}.")
        add("")
        add("2. Grounds")
        if channel in (Channel.MERCHANT, Channel.PLATFORM):
            add(f"The platform's trading rules and its published complaint window ({platform.complaint_window_hours} hours).")
        for key in _laws(case, channel):
            add(LAW[key][1])
        add("")
        add("3. Claims")
    total = 0
    for claim in case.claims.all():
        label = _name(claim.kind, claim.get_kind_display(), zh)
        if claim.amount is None:
            add(f"- {label}")
        else:
            total += claim.amount
            add(f"- {label}:{claim.amount}元" if zh else f"- {label}: {claim.amount} CNY")
    if total:
        add(f"合计:{total}元" if zh else f"Total: {total} CNY")
    add("")
    add("四、证据清单" if zh else "4. Evidence")
    rows = _evidence_rows(case)
    if not rows:
        add("(证据另附)" if zh else "(evidence attached separately)")
    else:
        for index, row in enumerate(rows, 1):
            desc = f" {row['description']}" if row["description"] else ""
            add(f"{index}. {row['kind']}{desc} SHA-256: {row['sha256']}")
    add("")
    today = timezone.localdate()
    add(f"投诉人:{name}    {today:%Y年%m月%d日}" if zh else f"{name}, {today:%Y-%m-%d}")
    return "\n".join(lines) + "\n"
