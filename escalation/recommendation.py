"""The next channel for a case, and why: one ordered table of rules, each cited to its seed.

The first rule whose condition holds names the channel; every other rule that holds and names the same
channel adds its reason; rules that hold but name another channel are returned as alternatives.
Conditions read a `Facts` snapshot of the case (amount, dispute type, fraud signs, the platform's ICP
filing and deposit scheme, cross-border, time since discovery, the answers so far).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import get_language

from cases.codes import DisputeType, PaymentChannel

from . import rules
from .codes import LEVEL_OF_CHANNEL, Channel, EscalationOutcome, SkipReason

POLICE_THRESHOLD = Decimal(5000)  # seeds 000, 001, 002, 004: 金额较大(如超过5000元)
FAILED = frozenset({EscalationOutcome.REFUSED, EscalationOutcome.NO_RESPONSE, EscalationOutcome.PARTIAL})
FRAUD_TYPES = frozenset({DisputeType.FRAUD})
THIRD_PARTY_PAYMENT = frozenset({PaymentChannel.ALIPAY, PaymentChannel.WECHAT})


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
    fraud: bool
    payment_channel: str
    has_icp: bool
    has_deposit: bool
    cross_border: bool
    merchant_unreachable: bool
    hours_since_discovery: float
    platform_window_hours: int
    tried: list[Tried] = field(default_factory=list)
    now: datetime | None = None

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


@dataclass(frozen=True)
class Rule:
    key: str
    channel: str
    when: Callable[[Facts], bool]
    zh: str
    en: str
    source: str
    skip_reason: str = ""


C = Channel
RULES: tuple[Rule, ...] = (
    Rule("platform_absconded", C.PAYMENT_DISPUTE,
         lambda f: f.dispute_type == DisputeType.PLATFORM_ABSCONDED and not f.tried_channel(C.PAYMENT_DISPUTE),
         "平台已跑路:通过支付宝、微信等支付渠道申请“交易争议处理”,支付机构可冻结卖家账户或退款,尤其适用于“卖家收款后跑路”。",
         "The platform absconded: open a payment-channel dispute (Alipay / WeChat); the payment provider can "
         "freeze the seller's account or refund, which suits 'took the money and vanished'.",
         "seed 000", SkipReason.PLATFORM_ABSCONDED),
    Rule("platform_absconded_police", C.POLICE,
         lambda f: f.dispute_type == DisputeType.PLATFORM_ABSCONDED and not f.tried_channel(C.POLICE),
         "平台跑路导致多人受损时,可向公安机关报案(涉嫌诈骗、收款后失联)。",
         "When an absconded platform leaves many victims, report it to the police (suspected fraud).",
         "seed 000, seed 004", SkipReason.PLATFORM_ABSCONDED),
    Rule("fraud_over_5000", C.POLICE,
         lambda f: f.fraud and f.amount > POLICE_THRESHOLD and not f.tried_channel(C.POLICE),
         "涉及金额较大(超过5000元)且存在诈骗嫌疑(如收款后失联):可向公安机关报案。",
         "Over 5000 CNY with signs of fraud (e.g. took the money and vanished): report it to the police.",
         "seed 001, seed 004", SkipReason.AMOUNT_OVER_5000),
    Rule("fraud_payment_dispute", C.PAYMENT_DISPUTE,
         lambda f: f.fraud and f.payment_channel in THIRD_PARTY_PAYMENT and not f.tried_channel(C.PAYMENT_DISPUTE),
         "通过支付宝、微信付款且卖家收款后失联:先申请支付渠道“交易争议处理”,这是最快的途径。",
         "Paid through Alipay / WeChat and the seller vanished with the money: the payment-channel dispute is "
         "the fastest route.",
         "seed 000", SkipReason.FRAUD),
    Rule("fraud_police", C.POLICE,
         lambda f: f.fraud and not f.tried_channel(C.POLICE),
         "平台或商家涉嫌诈骗(收款后失联):可向公安机关报案,或寻求法律援助。",
         "Suspected fraud (took the money and vanished): report it to the police, or ask for legal aid.",
         "seed 004", SkipReason.FRAUD),
    Rule("cross_border", C.CARD_CHARGEBACK,
         lambda f: f.cross_border and not f.tried_channel(C.CARD_CHARGEBACK),
         "跨境平台:境内渠道难以追责,可通过国际支付渠道(如Visa、Mastercard)申请“交易撤销”。",
         "Cross-border platform: domestic channels can hardly reach it; ask the card scheme (Visa, Mastercard) "
         "to reverse the transaction.",
         "seed 001", SkipReason.CROSS_BORDER),
    Rule("data_leak", C.CYBERSPACE_ADMIN,
         lambda f: f.dispute_type == DisputeType.DATA_LEAK and not f.tried_channel(C.CYBERSPACE_ADMIN),
         "涉及网络安全问题(如用户信息泄露):可向网信部门投诉。",
         "A network-security problem (a leak of users' personal data): complain to the cyberspace administration "
         "(网信).",
         "seed 000", SkipReason.OTHER),
    Rule("merchant_unreachable", C.PLATFORM,
         lambda f: not f.tried_level(2) and f.reached < 2 and (
             f.merchant_unreachable or f.dispute_type == DisputeType.MERCHANT_UNREACHABLE),
         "商家失联(空壳店铺):直接向平台索赔,平台对入驻商家负有资质审核义务,并可要求平台提供商家实名信息。",
         "The merchant is unreachable (a shell shop): claim from the platform directly; it must vet its "
         "merchants and can be asked for the merchant's real identity.",
         "seed 001", SkipReason.NO_RESPONSE),
    Rule("start_with_merchant", C.MERCHANT,
         lambda f: not f.tried,
         "先内部后外部、先协商后投诉:先与商家协商,重点陈述违约事实与合理诉求;商家应在48小时内答复。",
         "Inside before outside, negotiation before complaint: first ask the merchant, stating the breach and a "
         "reasonable claim; it should answer within 48 hours.",
         "seed 001, seed 004"),
    Rule("merchant_failed", C.PLATFORM,
         lambda f: f.failed_at(1) and f.reached < 2,
         "商家在48小时内未响应或拒绝处理:启动第二层申诉,在订单详情页“申请平台介入”。",
         "The merchant did not answer within 48 hours or refused: go to the second rung, the platform's "
         "dispute process ('申请平台介入').",
         "seed 001"),
    Rule("deposit_scheme", C.PLATFORM,
         lambda f: f.has_deposit and f.reached < 2,
         "该平台设有“先行赔付”/商家保证金制度:证据确凿的纠纷可直接从保证金中赔付。",
         "The platform runs a deposit / 先行赔付 scheme: a well-evidenced dispute is paid from the deposit.",
         "seed 003"),
    Rule("platform_window", C.PLATFORM,
         lambda f: f.reached < 2 and f.hours_since_discovery > f.platform_window_hours,
         "已超过平台公布的投诉时限:向平台申诉时需说明未及时反馈的合理理由。",
         "The platform's published complaint window has passed: explain to the platform why the complaint is "
         "late.",
         "seed 001, seed 003"),
    Rule("platform_shirking", C.C12315,
         lambda f: f.dispute_type == DisputeType.PLATFORM_SHIRKING and f.reached >= 1 and f.reached < 3
         and not f.tried_channel(C.C12315),
         "商家与平台相互推诿:向12315平台投诉,市场监管部门依法介入调解。",
         "The merchant and the platform pass the buck: complain on 12315; market regulation steps in to mediate.",
         "seed 001", SkipReason.NO_RESPONSE),
    Rule("no_icp_regulator", C.MARKET_REGULATOR,
         lambda f: f.failed_at(2) and not f.has_icp and not f.tried_channel(C.MARKET_REGULATOR),
         "平台无ICP备案,涉嫌“无证经营”:可向当地市场监管局举报。",
         "The platform has no ICP filing (suspected unlicensed operation): report it to the local market "
         "regulator.",
         "seed 000, seed 003"),
    Rule("unfair_terms", C.C12315,
         lambda f: f.dispute_type == DisputeType.UNFAIR_TERMS and f.failed_at(2) and not f.tried_channel(C.C12315),
         "“概不退换”等格式条款排除消费者权利,依《消费者权益保护法》第二十六条无效:向12315投诉。",
         "Terms such as 'no returns' that exclude consumers' rights are void under Consumer Rights Protection "
         "Law art. 26: complain on 12315.",
         "seed 001, seed 004"),
    Rule("platform_failed", C.C12315,
         lambda f: f.failed_at(2) and not f.tried_channel(C.C12315),
         "平台未在时限内答复或驳回合理诉求:向12315平台投诉,市场监管部门应在7个工作日内决定是否受理。",
         "The platform did not answer in time or refused a reasonable claim: complain on 12315; market "
         "regulation decides within 7 working days whether to accept it.",
         "seed 002, seed 004"),
    Rule("third_party_failed_large", C.LAWSUIT,
         lambda f: f.failed_at(3) and f.amount > POLICE_THRESHOLD and not f.tried_channel(C.LAWSUIT),
         "纠纷金额较大(超过5000元)且前序途径无效:向法院起诉(《消费者权益保护法》第五十五条、《电子商务法》第四十九条)。",
         "Over 5000 CNY and the earlier routes failed: sue (Consumer Rights Protection Law art. 55, "
         "E-Commerce Law art. 49).",
         "seed 000, seed 002"),
    Rule("third_party_failed", C.SMALL_CLAIMS,
         lambda f: f.failed_at(3) and not f.tried_channel(C.SMALL_CLAIMS),
         "第三方途径无效:选择“小额诉讼程序”(一审终审,审理期限不超过3个月),可在线提交。",
         "The third parties did not help: use the small-claims procedure (final at first instance, decided "
         "within 3 months), filed online.",
         "seed 002"),
    Rule("public_pressure", C.PUBLIC_COMPLAINT,
         lambda f: f.failed_at(3) and not f.tried_channel(C.PUBLIC_COMPLAINT),
         "可同时在“黑猫投诉”“聚投诉”公开投诉,借舆论促使平台处理。",
         "In parallel, a public complaint on 黑猫投诉 / 聚投诉 puts public pressure on the platform.",
         "seed 002"),
    Rule("legal_aid", C.LEGAL_AID,
         lambda f: f.tried_level(4) and not f.tried_channel(C.LEGAL_AID),
         "各地法律援助中心可提供免费咨询。",
         "Local legal-aid centres give free advice.",
         "seed 004"),
)


def facts_of(case, *, now: datetime | None = None) -> Facts:
    now = now or timezone.now()
    platform = case.platform
    merchant = case.merchant
    return Facts(
        amount=case.amount_paid,
        dispute_type=case.dispute_type,
        fraud=case.fraud_suspected or case.dispute_type in FRAUD_TYPES,
        payment_channel=case.payment_channel,
        has_icp=bool((platform.icp_number or "").strip()),
        has_deposit=platform.has_deposit_scheme,
        cross_border=platform.cross_border,
        merchant_unreachable=bool(merchant and merchant.unreachable),
        hours_since_discovery=(now - case.problem_found_at).total_seconds() / 3600,
        platform_window_hours=platform.complaint_window_hours,
        tried=[Tried(e.channel, e.level, e.outcome, e.due_at) for e in case.escalations.all()],
        now=now,
    )


def _text(rule: Rule, lang: str) -> str:
    text = rule.en if lang.startswith("en") else rule.zh
    return f"{text} ({rule.source})"


def _next_rung(facts: Facts) -> str:
    level = min(facts.reached + 1, 4)
    return rules.CHANNELS_OF_LEVEL[level][0]


def recommend(case, *, now: datetime | None = None, lang: str | None = None) -> dict:
    """{"channel", "level", "reasons", "due_at", "provisional", "skip_reason", "also", "rules"}."""
    from .calendar import Calendar
    from .letter import ZH_NAMES
    from .services import deadline_build

    lang = lang or get_language() or "zh-hans"
    facts = facts_of(case, now=now)
    matching = [rule for rule in RULES if rule.when(facts)]
    waiting = facts.waiting_on
    if matching:
        channel = matching[0].channel
    else:
        channel = _next_rung(facts)
    chosen = [rule for rule in matching if rule.channel == channel]
    reasons = [_text(rule, lang) for rule in chosen]
    if waiting is not None:
        due = timezone.localtime(waiting.due_at).strftime("%Y-%m-%d %H:%M")
        reasons.append(
            f"Waiting for the answer of {waiting.channel} until {due}; escalate if none comes."
            if lang.startswith("en") else f"正在等待{ZH_NAMES[waiting.channel]}在{due}前答复;逾期未答复再升级。"
        )
    if not reasons:
        reasons.append("Next rung of the ladder: inside before outside, negotiation before complaint (seed 001)."
                       if lang.startswith("en") else "按“先内部后外部、先协商后投诉”的顺序进入下一层 (seed 001)。")
    level = LEVEL_OF_CHANNEL[channel]
    kind, unit, amount, very_late = rules.answer_rule(channel, case.platform)
    start = facts.now
    deadline = deadline_build(case=case, kind=kind, starts_at=start, unit=unit, amount=amount, very_late=very_late,
                              cal=Calendar.load())
    skips = level > facts_reached_with_status(case, facts) + 1
    also = []
    for rule in matching:
        if rule.channel != channel and rule.channel not in [a["channel"] for a in also]:
            also.append({"channel": rule.channel, "level": LEVEL_OF_CHANNEL[rule.channel],
                         "reason": _text(rule, lang)})
    return {
        "channel": channel,
        "level": level,
        "reasons": reasons,
        "due_at": deadline.due_at,
        "provisional": deadline.provisional,
        "skip_reason": (chosen[0].skip_reason or SkipReason.OTHER) if skips and chosen else "",
        "also": also,
        "rules": [rule.key for rule in chosen],
    }


def facts_reached_with_status(case, facts: Facts) -> int:
    return max(facts.reached, rules.LEVEL_OF_STATUS.get(case.status, 0))
