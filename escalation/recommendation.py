"""The next channel for a case, and why: one ordered table of rules, each citing the law or the practice.

The first rule whose condition holds names the channel; every other rule that holds and names the same
channel adds its reason; rules that hold but name another channel are returned as alternatives (`also`).
Channels the case cannot use are never recommended (12315 and the consumer association for a reseller;
the second of 12315 / consumer association for the same dispute; a card chargeback without a card).
Warnings say at once what a handler must not miss. Conditions read a `Facts` snapshot of the case.

Reasons cite statutes (with the article) or "实务/practice"; the statutory values (12315's limits, the
fraud threshold, the small-claims limit) come from the rule table, in force on the day (escalation/lawbook.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import get_language

from cases.codes import Deception, DisputeType, PaymentChannel

from . import rules
from .codes import (
    LEVEL_OF_CHANNEL,
    Channel,
    DeadlineKind,
    DeadlineStatus,
    EscalationOutcome,
    RuleKey,
    SkipReason,
)
from .lawbook import RuleBook, SmallClaims, small_claims_check
from .words import ZH_NAMES

FAILED = frozenset({EscalationOutcome.REFUSED, EscalationOutcome.NO_RESPONSE, EscalationOutcome.PARTIAL})
WALLETS = frozenset({PaymentChannel.ALIPAY, PaymentChannel.WECHAT})
CARDS = frozenset({PaymentChannel.CREDIT_CARD, PaymentChannel.BANK_CARD})
# Performance defects and breaches: a refund under CPL art. 24 / Civil Code art. 582, whatever art. 25 says.
DEFECT_TYPES = frozenset({
    DisputeType.INVALID_CODE, DisputeType.NOT_AS_DESCRIBED, DisputeType.MISSING_FUNCTION, DisputeType.DELIVERY_DELAY,
    DisputeType.FAKE_DELIVERY, DisputeType.ACCOUNT_RECOVERED, DisputeType.ACCOUNT_BANNED,
    DisputeType.ACCOUNT_MISMATCH,
})
CONSUMER_BODIES = frozenset({Channel.C12315, Channel.CONSUMER_ASSOCIATION})


@dataclass
class Tried:
    channel: str
    level: int
    outcome: str
    due_at: datetime | None


@dataclass
class Facts:
    amount: Decimal
    dispute_type: str
    fraud: bool  # took the money and vanished: a crime to report (刑法 art. 266)
    deception: bool  # 欺诈 in the civil sense (CPL art. 55): false advertising, concealment, or fraud
    deception_kind: str
    payment_channel: str
    has_icp: bool
    has_deposit: bool
    cross_border: bool
    merchant_unreachable: bool
    hours_since_discovery: float
    platform_window_hours: int
    window_due: datetime | None = None
    minor: bool = False
    for_resale: bool = False
    key_redeemed: bool | None = None
    province: str = ""
    tried: list[Tried] = field(default_factory=list)
    now: datetime = field(default_factory=timezone.now)
    small_claims: bool | None = None  # within the province's small-claims limit (None: cannot tell)
    small_claims_info: SmallClaims | None = None

    def tried_channel(self, channel: str) -> bool:
        return any(t.channel == channel for t in self.tried)

    def tried_level(self, level: int) -> bool:
        return any(t.level == level for t in self.tried)

    @property
    def reached(self) -> int:
        return max((t.level for t in self.tried), default=0)

    def failed_at(self, level: int) -> bool:
        """Refused, partly resolved, no answer recorded as such, or no answer by the due date."""
        for t in self.tried:
            if t.level != level:
                continue
            if t.outcome in FAILED:
                return True
            if t.outcome in (EscalationOutcome.PENDING, EscalationOutcome.ACCEPTED) and t.due_at and t.due_at < self.now:
                return True
        return False

    @property
    def waiting_on(self) -> Tried | None:
        pending = [t for t in self.tried if t.outcome in (EscalationOutcome.PENDING, EscalationOutcome.ACCEPTED)
                   and t.due_at and t.due_at >= self.now]
        return pending[-1] if pending else None

    def merchant_answer_due(self) -> datetime:
        for t in self.tried:
            if t.channel == Channel.MERCHANT and t.outcome == EscalationOutcome.PENDING and t.due_at:
                return t.due_at
        return self.now + timedelta(hours=48)

    @property
    def window_closes_first(self) -> bool:
        """The platform's window ends before the merchant's 48 hours: complain to the platform in parallel."""
        return (self.window_due is not None and self.window_due > self.now and not self.tried_level(2)
                and not self.merchant_failed_already and self.window_due < self.merchant_answer_due())

    @property
    def merchant_failed_already(self) -> bool:
        return self.failed_at(1)


@dataclass(frozen=True)
class Rule:
    key: str
    channel: str | Callable[[Facts], str]
    when: Callable[[Facts], bool]
    zh: str
    en: str
    cite: str
    skip_reason: str = ""

    def channel_for(self, facts: Facts) -> str:
        return self.channel(facts) if callable(self.channel) else self.channel


def _payment_route(f: Facts) -> str:
    """The payment's own dispute channel: Alipay/WeChat → their dispute service; a card → chargeback;
    platform balance has none (→ the police when money was taken)."""
    if f.payment_channel in WALLETS:
        return Channel.PAYMENT_DISPUTE
    if f.payment_channel in CARDS:
        return Channel.CARD_CHARGEBACK
    return Channel.POLICE


def _has_payment_route(f: Facts) -> bool:
    return f.payment_channel in WALLETS | CARDS


C = Channel
RULES: tuple[Rule, ...] = (
    Rule("platform_absconded", _payment_route,
         lambda f: f.dispute_type == DisputeType.PLATFORM_ABSCONDED and _has_payment_route(f)
         and not f.tried_channel(_payment_route(f)),
         "平台已跑路：立即通过付款渠道申请争议处理（支付宝/微信的交易争议，或银行卡的拒付），支付机构可冻结收款账户或退款。",
         "The platform absconded: open a dispute through the payment channel at once (Alipay/WeChat dispute, or "
         "a card chargeback); the payment provider can freeze the payee's account or refund.",
         "实务：支付机构争议处理规则", SkipReason.PLATFORM_ABSCONDED),
    Rule("platform_absconded_police", C.POLICE,
         lambda f: f.dispute_type == DisputeType.PLATFORM_ABSCONDED and not f.tried_channel(C.POLICE),
         "平台收款后跑路涉嫌诈骗，不论单人金额大小均可报案；众多受害人的损失合并计算，应组织受害人集体报案。",
         "A platform that took the money and vanished is suspected of fraud: it can be reported whatever one "
         "victim's amount; the losses of many victims add up, so the victims should report together.",
         "《刑法》第二百六十六条；法发〔2016〕32号", SkipReason.PLATFORM_ABSCONDED),
    Rule("fraud_payment_route", _payment_route,
         lambda f: f.fraud and _has_payment_route(f) and not f.tried_channel(_payment_route(f)),
         "卖家收款后失联：先通过付款渠道申请争议处理（支付宝/微信交易争议或银行卡拒付），这是追回钱款最快的途径。",
         "The seller took the money and vanished: first open a dispute through the payment channel (Alipay/WeChat "
         "dispute or card chargeback), the fastest way to recover the money.",
         "实务：支付机构争议处理规则", SkipReason.FRAUD),
    Rule("fraud_police", C.POLICE,
         lambda f: f.fraud and not f.tried_channel(C.POLICE),
         "涉嫌诈骗（收款后失联）：诈骗不论金额均可向公安机关报案；电信网络诈骗“数额较大”的标准为{fraud_threshold}元，"
         "多名受害人或多次诈骗的数额累计计算。",
         "Suspected fraud (took the money and vanished): fraud can be reported to the police whatever the amount; "
         "for telecom/network fraud 'a relatively large amount' is {fraud_threshold} CNY, and the amounts of many "
         "victims or many frauds add up.",
         "《刑法》第二百六十六条；法发〔2016〕32号 二(一)", SkipReason.FRAUD),
    Rule("cross_border", _payment_route,
         lambda f: f.cross_border and _has_payment_route(f) and not f.tried_channel(_payment_route(f)),
         "境外平台：境内行政渠道难以追责，通过付款渠道申请撤销交易（银行卡拒付，或支付宝/微信交易争议）。",
         "Cross-border platform: domestic authorities can hardly reach it; reverse the payment through its channel "
         "(card chargeback, or the Alipay/WeChat dispute).",
         "实务：卡组织拒付规则、支付机构争议处理规则", SkipReason.CROSS_BORDER),
    Rule("data_leak", C.CYBERSPACE_ADMIN,
         lambda f: f.dispute_type == DisputeType.DATA_LEAK and not f.tried_channel(C.CYBERSPACE_ADMIN),
         "个人信息泄露：向网信部门投诉、举报违法处理个人信息的行为。",
         "A personal-data leak: complain to the cyberspace administration about the unlawful processing.",
         "《个人信息保护法》第六十五条", SkipReason.OTHER),
    Rule("data_leak_request", C.PLATFORM,
         lambda f: f.dispute_type == DisputeType.DATA_LEAK and not f.tried_level(2),
         "同时向平台提出个人信息权利请求（查阅、删除，说明泄露情况），平台拒绝的应当说明理由，拒绝后可向法院起诉。",
         "At the same time, make a personal-data request to the platform (access, deletion, what leaked); a refusal "
         "must give reasons, and a refusal can be taken to court.",
         "《个人信息保护法》第五十条；《消费者权益保护法》第二十九条"),
    Rule("data_leak_police", C.POLICE,
         lambda f: f.dispute_type == DisputeType.DATA_LEAK and not f.tried_channel(C.POLICE),
         "泄露后收到诈骗电话、短信的，向公安机关报案（涉嫌侵犯公民个人信息、诈骗）。",
         "Scam calls or messages after the leak: report them to the police (infringement of personal "
         "information, fraud).",
         "《刑法》第二百五十三条之一、第二百六十六条"),
    Rule("window_closes_first", C.PLATFORM,
         lambda f: f.window_closes_first,
         "平台投诉时限（{window_due}截止）早于商家48小时答复期届满：立即同时向平台投诉，不要等商家答复而错过平台时限。",
         "The platform's complaint window (closing {window_due}) ends before the merchant's 48 hours: complain to "
         "the platform now, in parallel, rather than lose the window.",
         "平台公布的投诉时限；实务", SkipReason.PLATFORM_WINDOW),
    Rule("merchant_unreachable", C.PLATFORM,
         lambda f: not f.tried_level(2) and f.reached < 2 and (
             f.merchant_unreachable or f.dispute_type == DisputeType.MERCHANT_UNREACHABLE),
         "商家失联：直接向平台索赔，并要求平台提供商家的真实名称、地址和有效联系方式；平台不能提供的，消费者可以要求平台赔偿，"
         "平台作出更有利于消费者的承诺的，应当履行。",
         "The merchant is unreachable: claim from the platform and ask for the seller's real name, address and "
         "contact details; a platform that cannot give them answers to the consumer, and must keep its promises.",
         "《消费者权益保护法》第四十四条；《电子商务法》第二十七条", SkipReason.NO_RESPONSE),
    Rule("start_with_merchant", C.MERCHANT,
         lambda f: not f.tried,
         "先协商后投诉：先向商家陈述违约事实和合理诉求，商家通常应在48小时内答复。",
         "Negotiation before complaint: first put the breach and a reasonable claim to the merchant; it should "
         "answer within 48 hours.",
         "实务；《消费者权益保护法》第三十九条"),
    Rule("merchant_failed", C.PLATFORM,
         lambda f: f.failed_at(1) and f.reached < 2,
         "商家在48小时内未答复或拒绝处理：在订单页“申请平台介入”。",
         "The merchant did not answer within 48 hours or refused: ask the platform to intervene from the order "
         "page.",
         "实务；《电子商务法》第五十九条、第六十条"),
    Rule("deposit_scheme", C.PLATFORM,
         lambda f: f.has_deposit and f.reached < 2,
         "该平台设有先行赔付/保证金制度：证据确凿的纠纷可直接从保证金中赔付，平台应当履行其承诺。",
         "The platform runs a deposit / 先行赔付 scheme: a well-evidenced dispute is paid from the deposit, and the "
         "platform must keep that promise.",
         "《电子商务法》第五十八条；《消费者权益保护法》第四十四条"),
    Rule("platform_window_passed", C.PLATFORM,
         lambda f: f.reached < 2 and f.window_due is not None and f.window_due <= f.now,
         "平台公布的投诉时限已过：仍可向平台投诉并说明逾期理由；平台规则不能排除消费者依法享有的权利。",
         "The platform's published complaint window has passed: complain anyway and explain the delay; platform "
         "rules cannot exclude the consumer's statutory rights.",
         "《消费者权益保护法》第二十六条"),
    Rule("platform_shirking", C.C12315,
         lambda f: f.dispute_type == DisputeType.PLATFORM_SHIRKING and f.reached >= 1 and f.reached < 3
         and not f.tried_channel(C.C12315),
         "商家与平台相互推诿：向12315投诉，市场监督管理部门应在{acceptance}个工作日内决定是否受理。",
         "The merchant and the platform pass the buck: complain on 12315; market regulation decides within "
         "{acceptance} working days whether to accept it.",
         "{acceptance_cite}", SkipReason.NO_RESPONSE),
    Rule("unfair_terms", C.C12315,
         lambda f: f.dispute_type == DisputeType.UNFAIR_TERMS and f.failed_at(2) and not f.tried_channel(C.C12315),
         "“概不退换”“最终解释权”等格式条款排除消费者权利，其内容无效：向12315投诉。",
         "Terms such as 'no returns' or 'final interpretation' that exclude consumers' rights are void: complain "
         "on 12315.",
         "《消费者权益保护法》第二十六条"),
    Rule("platform_failed", C.C12315,
         lambda f: f.failed_at(2) and not f.tried_channel(C.C12315),
         "平台未在时限内答复或驳回合理诉求：向12315投诉，市场监督管理部门应在{acceptance}个工作日内决定是否受理。",
         "The platform did not answer in time or refused a reasonable claim: complain on 12315; market regulation "
         "decides within {acceptance} working days whether to accept it.",
         "{acceptance_cite}"),
    Rule("false_advertising_report", C.MARKET_REGULATOR,
         lambda f: f.deception_kind == Deception.FALSE_ADVERTISING and f.failed_at(2)
         and not f.tried_channel(C.MARKET_REGULATOR),
         "虚假宣传可向市场监督管理部门举报（举报与投诉不同：监管部门应在{report}个工作日内核查并决定是否立案）。",
         "False advertising can be reported to the market regulator (a report, not a complaint: it decides within "
         "{report} working days whether to open a case).",
         "《反不正当竞争法》第八条；{report_cite}"),
    Rule("no_icp", C.COMMUNICATIONS_ADMIN,
         lambda f: f.failed_at(2) and not f.has_icp and not f.tried_channel(C.COMMUNICATIONS_ADMIN),
         "平台网站未办理ICP备案：向通信管理局举报（备案归通信管理部门管理，不属于市场监管部门的“无证经营”）。",
         "The platform's site has no ICP filing: report it to the communications administration (filings are its "
         "matter, not the market regulator's).",
         "《互联网信息服务管理办法》第四条、第十九条"),
    Rule("third_party_failed_small", C.SMALL_CLAIMS,
         lambda f: f.failed_at(3) and f.small_claims is True and not f.tried_channel(C.SMALL_CLAIMS),
         "第三方途径无效：标的额在本省小额诉讼标准（{small_limit}元）以内，适用小额诉讼程序，一审终审，立案之日起两个月内审结"
         "（特殊情况可延长一个月）。",
         "The third parties did not help: the amount is within the province's small-claims limit ({small_limit} "
         "CNY): small-claims procedure, final at first instance, decided within two months of filing (plus one "
         "in special cases).",
         "《民事诉讼法》第一百六十五条、第一百六十九条"),
    Rule("third_party_failed_lawsuit", C.LAWSUIT,
         lambda f: f.failed_at(3) and f.small_claims is not True and not f.tried_channel(C.LAWSUIT),
         "第三方途径无效：向法院起诉（标的额超过或无法确定本省小额诉讼标准），可在买受人住所地法院起诉。{punitive}",
         "The third parties did not help: sue (the amount is above the province's small-claims limit, or the limit "
         "is not known), at the court of the buyer's domicile.{punitive}",
         "《民法典》第五百七十七条；《民事诉讼法》第二十四条"),
    Rule("resale_lawsuit", lambda f: C.SMALL_CLAIMS if f.small_claims is True else C.LAWSUIT,
         lambda f: f.for_resale and f.failed_at(2) and not f.tried_level(4),
         "为转售或代理而购买，不属于生活消费，12315和消费者协会不予受理：按买卖合同纠纷向法院起诉（标的额在小额诉讼标准以内的适用小额诉讼程序）。",
         "Bought for resale or as an agent, not for personal consumption: 12315 and the consumer association will "
         "not accept it; sue for breach of the sales contract.",
         "《消费者权益保护法》第二条；《民法典》第五百七十七条"),
    Rule("public_pressure", C.PUBLIC_COMPLAINT,
         lambda f: f.failed_at(3) and not f.tried_channel(C.PUBLIC_COMPLAINT),
         "可同时在黑猫投诉、聚投诉等平台公开投诉，促使平台处理。",
         "In parallel, a public complaint on 黑猫投诉 / 聚投诉 puts pressure on the platform.",
         "实务"),
    Rule("legal_aid", C.LEGAL_AID,
         lambda f: f.tried_level(4) and not f.tried_channel(C.LEGAL_AID),
         "可向法律援助机构申请法律援助，机构应在收到申请之日起七日内作出决定。",
         "Apply for legal aid; the centre decides within seven days of the application.",
         "《法律援助法》第四十三条"),
)


def facts_of(case, *, now: datetime | None = None) -> Facts:
    now = now or timezone.now()
    platform = case.platform
    merchant = case.merchant
    window = None
    for deadline in case.deadlines.all():
        if deadline.kind == DeadlineKind.PLATFORM_WINDOW and deadline.status == DeadlineStatus.OPEN:
            window = deadline.due_at
    deception_kind = getattr(case, "deception", "") or ""
    fraud = bool(case.fraud_suspected or case.dispute_type == DisputeType.FRAUD
                 or deception_kind == Deception.TOOK_THE_MONEY)
    facts = Facts(
        amount=case.amount_paid,
        dispute_type=case.dispute_type,
        fraud=fraud,
        deception=fraud or bool(deception_kind),
        deception_kind=deception_kind,
        payment_channel=case.payment_channel,
        has_icp=bool((platform.icp_number or "").strip()),
        has_deposit=platform.has_deposit_scheme,
        cross_border=platform.cross_border,
        merchant_unreachable=bool(merchant and merchant.unreachable),
        hours_since_discovery=(now - case.problem_found_at).total_seconds() / 3600,
        platform_window_hours=platform.complaint_window_hours,
        window_due=window,
        minor=bool(getattr(case, "consumer_is_minor", False)),
        for_resale=bool(getattr(case, "for_resale", False)),
        key_redeemed=getattr(case, "key_redeemed_on_receipt", None),
        province=getattr(case, "consumer_province", "") or "",
        tried=[Tried(e.channel, e.level, e.outcome, e.due_at) for e in case.escalations.all()],
        now=now,
    )
    check = small_claims_check(amount=case.amount_paid, province=facts.province, on=timezone.localtime(now).date())
    facts.small_claims = check.applies
    facts.small_claims_info = check
    return facts


def _blocked(facts: Facts) -> set[str]:
    """Channels this case cannot use."""
    blocked: set[str] = set()
    if facts.for_resale:
        blocked |= CONSUMER_BODIES
    for channel in CONSUMER_BODIES:
        if facts.tried_channel(channel):
            blocked |= CONSUMER_BODIES - {channel}
    if facts.payment_channel not in CARDS:
        blocked.add(Channel.CARD_CHARGEBACK)
    if facts.payment_channel not in WALLETS:
        blocked.add(Channel.PAYMENT_DISPUTE)
    return blocked


def _fill(text: str, values: dict) -> str:
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text


def _next_rung(facts: Facts, blocked: set[str]) -> str:
    level = min(facts.reached + 1, 4)
    for channel in rules.CHANNELS_OF_LEVEL[level]:
        if channel not in blocked:
            return channel
    return Channel.LAWSUIT


def refund_basis(case, lang: str) -> str:
    """Which law grounds a refund of this digital good (CPL arts. 24, 25; Civil Code art. 582)."""
    zh = not lang.startswith("en")
    redeemed = getattr(case, "key_redeemed_on_receipt", None)
    if case.dispute_type in DEFECT_TYPES or redeemed:
        lines = [
            "商品不符合约定（卡密无效、未到账、与描述不符等）属于质量/违约问题，可依法要求退货、更换或退款；《消费者权益保护法》"
            "第二十五条只排除数字化商品的“七日无理由退货”，不排除有瑕疵商品的退款。（《消费者权益保护法》第二十四条；"
            "《民法典》第五百八十二条）" if zh else
            "The good does not conform (invalid key, not received, not as described): a defect or breach, refundable "
            "(CPL art. 24; Civil Code art. 582). Art. 25 excludes downloaded or unsealed digital goods from "
            "no-reason returns only, not defective ones."
        ]
        if redeemed is True:
            lines.append("卡密在交付时已被核销：交付的即是无效商品，商家不能以“已发货、已使用”为由拒绝退款。" if zh else
                         "The key was already redeemed when delivered: the merchant delivered a void good and cannot "
                         "refuse with 'delivered and used'.")
        elif redeemed is None and case.dispute_type == DisputeType.INVALID_CODE:
            lines.append("请核实并记录卡密在消费者收到时是否已被核销（向发行方查询核销时间，早于交付时间即为商家责任）。" if zh else
                         "Check and record whether the key was already redeemed when the consumer received it (the "
                         "issuer's redemption time, earlier than delivery, puts it on the merchant).")
        return "".join(lines) if zh else " ".join(lines)
    if case.dispute_type == DisputeType.REFUND_REFUSED:
        return ("无瑕疵的在线下载或已拆封的数字化商品不适用七日无理由退货（《消费者权益保护法》第二十五条第一款第（三）项）：退款只能依据"
                "商家或平台的承诺，或证明商品存在瑕疵。" if zh else
                "A digital good downloaded online or unsealed, without a defect, has no seven-day no-reason return "
                "(CPL art. 25(1)(3)): a refund rests on the merchant's or platform's promise, or on proof of a defect.")
    return ("按合同约定和相关法律主张权利（《民法典》第五百七十七条）。" if zh else
            "Claim under the contract and the law (Civil Code art. 577).")


def _warnings(case, facts: Facts, lang: str, book: RuleBook, blocked: set[str]) -> list[str]:
    zh = not lang.startswith("en")
    out: list[str] = []
    if facts.window_closes_first:
        due = timezone.localtime(facts.window_due).strftime("%Y-%m-%d %H:%M")
        out.append(f"平台投诉时限将于{due}截止，早于商家48小时答复期：请立即同时向平台投诉。" if zh else
                   f"The platform's complaint window closes at {due}, before the merchant's 48 hours are over: "
                   "complain to the platform now, in parallel.")
    filed = [c for c in CONSUMER_BODIES if facts.tried_channel(c)]
    if filed:
        other = (CONSUMER_BODIES - set(filed))
        if other and not facts.for_resale:
            double = book.get(RuleKey.DOUBLE_FILING, timezone.localtime(facts.now).date())
            names = "、".join(ZH_NAMES[c] for c in sorted(other)) if zh else ", ".join(sorted(other))
            out.append(f"同一争议已向{ZH_NAMES[filed[0]]}投诉，不要再向{names}重复投诉，否则会被不予受理"
                       f"（{double.short_citation}）。" if zh else
                       f"The dispute is already filed with {filed[0]}: do not file it again with {names}, or it "
                       f"will be refused ({double.short_citation}).")
    if facts.for_resale:
        out.append("为转售／代理而购买，不属于生活消费：12315和消费者协会不予受理，按合同纠纷处理（《消费者权益保护法》第二条；"
                   "《市场监督管理投诉举报处理暂行办法》第十五条第（三）项）。" if zh
                   else "Bought for resale or as an agent (not personal consumption): 12315 and the consumer "
                   "association will not accept it; it is a contract dispute (CPL art. 2; interim Measures art. "
                   "15(3)).")
    if facts.minor:
        out.append("未成年人购买：由监护人主张权利；与其年龄、智力不相适应的交易，监护人不予追认的无效，可要求全额退款"
                   "（《民法典》第十九条、第一百四十五条）；游戏充值还可通过游戏企业的未成年人退款渠道申请。" if zh else
                   "Bought by a minor: the guardian acts; a purchase beyond the minor's age and understanding is void "
                   "if the guardian refuses to ratify it, and the full price is refundable (Civil Code arts. 19, "
                   "145); game top-ups also have the game company's minors' refund channel.")
    if facts.fraud and not facts.tried_channel(Channel.POLICE):
        threshold = book.get(RuleKey.FRAUD_THRESHOLD_NETWORK, timezone.localtime(facts.now).date())
        out.append(f"诈骗不论金额均可报案；电信网络诈骗“数额较大”为{threshold.amount}元，多名受害人的损失累计计算"
                   f"（{threshold.short_citation}）。" if zh else
                   f"Fraud can be reported whatever the amount; for network fraud 'relatively large' is "
                   f"{threshold.amount} CNY and many victims' losses add up ({threshold.short_citation}).")
    if facts.dispute_type == DisputeType.DATA_LEAK:
        out.append("信息泄露：同时向平台提出个人信息权利请求（《个人信息保护法》第五十条）、向网信部门投诉，收到诈骗电话的向公安机关报案。"
                   if zh else "Data leak: a PIPL request to the platform (art. 50), a complaint to 网信, and a police "
                   "report for the scam calls, all three.")
    if facts.payment_channel == PaymentChannel.PLATFORM_BALANCE and (facts.fraud or facts.cross_border
                                                                   or facts.dispute_type == DisputeType.PLATFORM_ABSCONDED):
        out.append("以平台余额支付：没有支付机构的争议处理渠道，也不能拒付。" if zh else
                   "Paid from the platform balance: there is no payment dispute or chargeback route.")
    info = facts.small_claims_info
    if facts.failed_at(3) or facts.reached >= 3:
        if info is not None and info.applies is None:
            out.append("未记录消费者所在省份或该省小额诉讼标准未录入：无法判断是否适用小额诉讼（《民事诉讼法》第一百六十五条）。" if zh
                       else "The consumer's province or its small-claims limit is not recorded: whether the "
                       "small-claims procedure applies cannot be told (Civil Procedure Law art. 165).")
        elif info is not None and not info.confirmed:
            out.append(f"小额诉讼标准{info.limit}元为未核实的估算，请以本省高级人民法院公布的标准为准。" if zh else
                       f"The small-claims limit {info.limit} CNY is an unconfirmed estimate: check the province's "
                       "published figure.")
    if case.dispute_type in (DisputeType.NOT_AS_DESCRIBED, DisputeType.MISSING_FUNCTION,
                             DisputeType.ACCOUNT_MISMATCH) and not facts.deception:
        out.append("商品与宣传不符：如属虚假宣传（面值缩水、“终身会员”实为试用）或故意隐瞒，请记录欺诈情形并保存商品页快照，"
                   "可主张退一赔三（《消费者权益保护法》第五十五条）。" if zh else
                   "Not as advertised: if it is false advertising (face value shrunk, a 'lifetime' membership that "
                   "is a trial) or concealment, record the deception and keep the product page: punitive damages "
                   "follow (CPL art. 55).")
    claims_punitive = any(c.kind == "punitive" for c in case.claims.all())
    if claims_punitive and not facts.deception:
        out.append("惩罚性赔偿需证明经营者欺诈（虚假宣传或故意隐瞒），本案未记录欺诈。" if zh else
                   "Punitive damages need proof of deception (false advertising or concealment); none is recorded.")
    return out


def recommend(case, *, now: datetime | None = None, lang: str | None = None) -> dict:
    """{"channel", "level", "reasons", "due_at", "provisional", "skip_reason", "also", "rules", "warnings",
    "refund_basis", "rule_versions"}."""
    from .calendar import Calendar
    from .services import deadline_from_clock

    lang = lang or get_language() or "zh-hans"
    en = lang.startswith("en")
    facts = facts_of(case, now=now)
    today = timezone.localtime(facts.now).date()
    book = RuleBook.load()
    acceptance = book.get(RuleKey.ACCEPTANCE_12315, today)
    report = book.get(RuleKey.REPORT_DECISION, today)
    threshold = book.get(RuleKey.FRAUD_THRESHOLD_NETWORK, today)
    info = facts.small_claims_info
    values = {
        "acceptance": acceptance.amount, "acceptance_cite": acceptance.short_citation,
        "report": report.amount, "report_cite": report.short_citation, "fraud_threshold": threshold.amount,
        "small_limit": info.limit if info is not None and info.limit is not None else "",
        "window_due": timezone.localtime(facts.window_due).strftime("%Y-%m-%d %H:%M") if facts.window_due else "",
        "punitive": ((" Where the merchant deceived (false advertising, concealment), add punitive damages "
                      "(CPL art. 55).") if en else "经营者有欺诈行为的，可一并主张惩罚性赔偿（《消费者权益保护法》第五十五条）。")
        if facts.deception else "",
    }
    blocked = _blocked(facts)
    matching = [(rule, rule.channel_for(facts)) for rule in RULES if rule.when(facts)]
    matching = [(rule, channel) for rule, channel in matching if channel not in blocked]

    def text(rule: Rule) -> str:
        body = _fill(rule.en if en else rule.zh, values)
        cite = _fill(rule.cite, values)
        return f"{body}({cite})" if not en else f"{body} ({cite})"

    waiting = facts.waiting_on
    channel = matching[0][1] if matching else _next_rung(facts, blocked)
    chosen = [rule for rule, ch in matching if ch == channel]
    reasons = [text(rule) for rule in chosen]
    if waiting is not None and waiting.channel != channel:
        due = timezone.localtime(waiting.due_at).strftime("%Y-%m-%d %H:%M")
        reasons.append(
            f"Waiting for the answer of {waiting.channel} until {due}; escalate if none comes." if en
            else f"正在等待{ZH_NAMES[waiting.channel]}在{due}前答复；逾期未答复再升级。"
        )
    if not reasons:
        reasons.append("Next rung of the ladder: negotiation before complaint, inside before outside (practice)."
                       if en else "按“先协商后投诉、先内部后外部”的顺序进入下一层（实务）。")
    level = LEVEL_OF_CHANNEL[channel]
    clock = rules.answer_clock(channel, on=today, platform=case.platform, book=book)
    deadline = deadline_from_clock(case=case, clock=clock, starts_at=facts.now, cal=Calendar.load())
    skips = level > facts_reached_with_status(case, facts) + 1
    also: list[dict] = []
    for rule, ch in matching:
        if ch != channel and ch not in [a["channel"] for a in also]:
            also.append({"channel": ch, "level": LEVEL_OF_CHANNEL[ch], "reason": text(rule)})
    versions = [clock.version.as_dict()] if clock.version is not None else []
    return {
        "channel": channel,
        "level": level,
        "reasons": reasons,
        "due_at": deadline.due_at,
        "provisional": deadline.provisional,
        "skip_reason": (chosen[0].skip_reason or SkipReason.OTHER) if skips and chosen else "",
        "also": also,
        "rules": [rule.key for rule in chosen],
        "warnings": _warnings(case, facts, lang, book, blocked),
        "refund_basis": refund_basis(case, lang),
        "rule_versions": versions,
    }


def facts_reached_with_status(case, facts: Facts) -> int:
    return max(facts.reached, rules.LEVEL_OF_STATUS.get(case.status, 0))
