"""The ladder and its clocks, as one table (PRODUCT.md "escalation"; seeds 001, 002, 004).

`DEADLINES` says, per deadline kind, how the due date is counted and where the figure comes from.
`ANSWER_DEADLINE_OF_CHANNEL` says which clock starts when a case is escalated to a channel.
A figure marked "default" has no statutory source: it is a working assumption that an organization
can change here (and a handler can extend per deadline, with a reason).

Tiers (each a different alert, each meaning something to the handler):
- overdue at `due_at`: the limit of the rule passed without an answer;
- late at `late_at`, `late` more units after it: the channel has had a reasonable grace on top of its limit
  (follow up, prepare the next rung);
- very late at `very_late_at`, `very_late` units after the due date: escalate now (Alaveteli's "late" /
  "very late"). The `late` and `very_late` figures are working defaults of this project, not statutory
  (no rule fixes a grace period after these limits); an organization can change them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import LEVEL_OF_CHANNEL, Channel, DeadlineKind, Level, SkipReason

HOURS, WORKING_DAYS, CALENDAR_DAYS = "hours", "working_days", "calendar_days"


@dataclass(frozen=True)
class DeadlineRule:
    unit: str  # hours | working_days | calendar_days (calendar days are stored and counted as hours)
    amount: int | None  # None: taken from the platform's record
    late: int  # in the same unit, after the due date (default, not statutory)
    very_late: int  # in the same unit, after the due date, more than `late` (default, not statutory)
    source: str


D = DeadlineKind
DEADLINES: dict[str, DeadlineRule] = {
    D.EVIDENCE_PRESERVATION: DeadlineRule(HOURS, 24, 12, 24, "seed 004: 发现问题后需立即截图、录屏,并在24小时内启动退款流程"),
    D.MERCHANT_ANSWER: DeadlineRule(HOURS, 48, 24, 48, "seed 001: 若商家在48小时内未响应或拒绝处理,即可启动第二层申诉"),
    D.PLATFORM_WINDOW: DeadlineRule(HOURS, None, 12, 24, "Platform.complaint_window_hours from delivery or discovery "
                                                     "(seed 001: 虚拟商品需在交付后24小时内反馈问题; seed 003: 48小时或72小时)"),
    D.PLATFORM_ANSWER: DeadlineRule(WORKING_DAYS, None, 1, 3, "Platform.response_working_days, default 3 "
                                                           "(PRODUCT.md: answer in 1–3 working days)"),
    D.ACCEPTANCE_12315: DeadlineRule(WORKING_DAYS, 7, 3, 7, "《市场监督管理投诉举报处理暂行办法》第十四条: 收到投诉之日起七个工作日内"
                                                         "作出受理或者不予受理的决定 (seed 002, seed 004)"),
    D.MEDIATION_12315: DeadlineRule(WORKING_DAYS, 45, 5, 10, "《市场监督管理投诉举报处理暂行办法》第二十一条: 自投诉受理之日起四十五个"
                                                          "工作日内未能达成调解协议的, 终止调解"),
    D.THIRD_PARTY_ANSWER: DeadlineRule(WORKING_DAYS, 7, 3, 7, "per channel, see THIRD_PARTY_WORKING_DAYS"),
    D.LEGAL: DeadlineRule(CALENDAR_DAYS, 90, 15, 30, "per channel, see LEGAL_CALENDAR_DAYS"),
}

# Third-party channels other than 12315: working days until an answer is expected.
THIRD_PARTY_WORKING_DAYS: dict[str, tuple[int, str]] = {
    Channel.CONSUMER_ASSOCIATION: (7, "default, aligned with 12315's seven working days (消协 accepts via 12315; seed 001)"),
    Channel.MARKET_REGULATOR: (7, "《市场监督管理投诉举报处理暂行办法》第十四条 also governs the local regulator"),
    Channel.CYBERSPACE_ADMIN: (15, "default (no statutory answer time for a 网信 complaint)"),
    Channel.PAYMENT_DISPUTE: (5, "default (Alipay / WeChat dispute handling; seed 000 calls it the fast route)"),
    Channel.PUBLIC_COMPLAINT: (5, "default (黑猫投诉 / 聚投诉 forward to the company; seed 002)"),
    Channel.INDUSTRY_ASSOCIATION: (15, "default (association mediation; seed 004)"),
    Channel.CARD_CHARGEBACK: (30, "default (card-scheme chargeback cycle; seed 001: Visa / Mastercard 交易撤销)"),
}

# Legal channels: calendar days until a decision is expected.
LEGAL_CALENDAR_DAYS: dict[str, tuple[int, str]] = {
    Channel.SMALL_CLAIMS: (90, "seed 002: 小额诉讼程序 一审终审, 审理期限不超过3个月 (three months, counted as 90 days)"),
    Channel.LAWSUIT: (180, "《民事诉讼法》: 普通程序 six months (counted as 180 days)"),
    Channel.POLICE: (30, "default: the police decide whether to open a case (立案) within at most 30 days"),
    Channel.LEGAL_AID: (7, "《法律援助法》第四十三条: 自收到申请之日起七日内进行审查, 作出是否给予法律援助的决定"),
}

ANSWER_DEADLINE_OF_CHANNEL: dict[str, str] = {
    Channel.MERCHANT: D.MERCHANT_ANSWER,
    Channel.PLATFORM: D.PLATFORM_ANSWER,
    Channel.C12315: D.ACCEPTANCE_12315,
    **{channel: D.THIRD_PARTY_ANSWER for channel in THIRD_PARTY_WORKING_DAYS},
    **{channel: D.LEGAL for channel in LEGAL_CALENDAR_DAYS},
}

# Answering a 12315 complaint as accepted (受理) starts the mediation clock (art. 21).
ON_ACCEPTANCE: dict[str, str] = {Channel.C12315: D.MEDIATION_12315}

# --- the ladder --------------------------------------------------------------------------------------

LEVEL_NAMES = {level: label for level, label in Level.choices}
CHANNELS_OF_LEVEL: dict[int, tuple[str, ...]] = {
    level: tuple(c for c, lvl in LEVEL_OF_CHANNEL.items() if lvl == level) for level in Level.values
}
# Skip reasons that must be explained in words (skip_note).
SKIP_REASONS_NEEDING_NOTE = frozenset({SkipReason.OTHER})
# The level whose escalation needs a supervisor (PRODUCT.md; API.md "Roles").
SUPERVISOR_LEVEL = Level.LEGAL

# The case status each level moves the case to (API.md "status").
STATUS_OF_LEVEL = {1: "negotiating", 2: "platform_review", 3: "third_party", 4: "legal"}
LEVEL_OF_STATUS = {status: level for level, status in STATUS_OF_LEVEL.items()}


def level_of(channel: str) -> int:
    return LEVEL_OF_CHANNEL[channel]


def answer_rule(channel: str, platform=None) -> tuple[str, str, int, int]:
    """(deadline kind, unit, amount, very_late) of the answer clock that `channel` starts."""
    kind = ANSWER_DEADLINE_OF_CHANNEL[channel]
    rule = DEADLINES[kind]
    amount = rule.amount
    unit = rule.unit
    if kind == D.PLATFORM_ANSWER:
        amount = getattr(platform, "response_working_days", None) or 3
    elif kind == D.THIRD_PARTY_ANSWER:
        amount = THIRD_PARTY_WORKING_DAYS[channel][0]
    elif kind == D.LEGAL:
        amount = LEGAL_CALENDAR_DAYS[channel][0]
    return kind, unit, amount, rule.very_late


def missing_rungs(*, reached: int, target: int) -> list[int]:
    """The levels between the highest one reached and `target` that were not tried."""
    return [level for level in range(reached + 1, target)]
