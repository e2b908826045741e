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
from datetime import date

from .codes import LEVEL_OF_CHANNEL, Channel, DeadlineKind, Level, RuleKey, SkipReason, Unit
from .lawbook import RuleBook, Version, add_months

HOURS, WORKING_DAYS, CALENDAR_DAYS = "hours", "working_days", "calendar_days"


@dataclass(frozen=True)
class DeadlineRule:
    unit: str  # hours | working_days | calendar_days (calendar days are stored and counted as hours)
    amount: int | None  # None: taken from the platform's record or from the rule table (`rule_key`)
    late: int  # in the same unit, after the due date (default, not statutory)
    very_late: int  # in the same unit, after the due date, more than `late` (default, not statutory)
    source: str
    rule_key: str = ""  # a statutory value: escalation/lawbook.py, versioned by effective date


D = DeadlineKind
R = RuleKey
DEADLINES: dict[str, DeadlineRule] = {
    D.EVIDENCE_PRESERVATION: DeadlineRule(HOURS, 24, 12, 24, "practice: preserve the evidence at once",
                                          R.EVIDENCE_PRESERVATION),
    D.MERCHANT_ANSWER: DeadlineRule(HOURS, 48, 24, 48, "practice: a merchant silent for 48 hours has refused",
                                    R.MERCHANT_ANSWER),
    D.PLATFORM_WINDOW: DeadlineRule(HOURS, None, 12, 24, "Platform.complaint_window_hours from delivery or discovery "
                                                     "(the platform's published rules)"),
    D.PLATFORM_ANSWER: DeadlineRule(WORKING_DAYS, None, 1, 3, "Platform.response_working_days, default 3 "
                                                           "(the platform's published rules; PRODUCT.md)"),
    D.ACCEPTANCE_12315: DeadlineRule(WORKING_DAYS, None, 3, 7, "rule table", R.ACCEPTANCE_12315),
    D.MEDIATION_12315: DeadlineRule(WORKING_DAYS, None, 5, 10, "rule table", R.MEDIATION_12315),
    D.REPORT_DECISION: DeadlineRule(WORKING_DAYS, None, 5, 15, "rule table", R.REPORT_DECISION),
    D.THIRD_PARTY_ANSWER: DeadlineRule(WORKING_DAYS, 7, 3, 7, "per channel, see THIRD_PARTY_RULES"),
    D.LEGAL: DeadlineRule(CALENDAR_DAYS, 90, 15, 30, "per channel, see LEGAL_RULES"),
}

# Third-party channels other than 12315 and the regulator's report: the rule-table entry of the working days
# until an answer is expected. None of these is statutory: working assumptions a supervisor corrects there.
THIRD_PARTY_RULES: dict[str, str] = {
    Channel.CONSUMER_ASSOCIATION: R.ASSOCIATION_ANSWER,
    Channel.CYBERSPACE_ADMIN: R.CYBERSPACE_ANSWER,
    Channel.COMMUNICATIONS_ADMIN: R.COMMUNICATIONS_ANSWER,
    Channel.PAYMENT_DISPUTE: R.PAYMENT_DISPUTE_ANSWER,
    Channel.PUBLIC_COMPLAINT: R.PUBLIC_COMPLAINT_ANSWER,
    Channel.INDUSTRY_ASSOCIATION: R.INDUSTRY_ASSOCIATION_ANSWER,
    Channel.CARD_CHARGEBACK: R.CARD_CHARGEBACK_ANSWER,
}

# Legal channels: the rule-table entry of the period until a decision (days or months, 民法典 arts. 201-203).
LEGAL_RULES: dict[str, str] = {
    Channel.SMALL_CLAIMS: R.SMALL_CLAIMS_TERM,
    Channel.LAWSUIT: R.SIMPLE_PROCEDURE_TERM,
    Channel.POLICE: R.POLICE_FILING,
    Channel.LEGAL_AID: R.LEGAL_AID_REVIEW,
}

ANSWER_DEADLINE_OF_CHANNEL: dict[str, str] = {
    Channel.MERCHANT: D.MERCHANT_ANSWER,
    Channel.PLATFORM: D.PLATFORM_ANSWER,
    Channel.C12315: D.ACCEPTANCE_12315,
    Channel.MARKET_REGULATOR: D.REPORT_DECISION,
    **{channel: D.THIRD_PARTY_ANSWER for channel in THIRD_PARTY_RULES},
    **{channel: D.LEGAL for channel in LEGAL_RULES},
}

# Answering a 12315 complaint as accepted (受理) starts the mediation clock (rule table: 12315_mediation).
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


@dataclass(frozen=True)
class Clock:
    """How one clock is counted: its kind, unit and length, and the rule version it comes from."""

    kind: str
    unit: str
    amount: int
    very_late: int
    version: Version | None = None
    day_based: bool = False


def clock_of_kind(kind: str, *, on: date, book: RuleBook | None = None, platform=None,
                  channel: str | None = None, start: date | None = None) -> Clock:
    """The clock of `kind` for a complaint submitted on `on` (the rule version in force that day)."""
    rule = DEADLINES[kind]
    if rule.rule_key:
        version = (book or RuleBook.load()).get(rule.rule_key, on)
        return Clock(kind, rule.unit, version.amount, rule.very_late, version)
    if kind == D.PLATFORM_ANSWER:
        return Clock(kind, rule.unit, getattr(platform, "response_working_days", None) or 3, rule.very_late)
    if kind == D.THIRD_PARTY_ANSWER:
        assert channel is not None, "a third party's answer clock belongs to a channel"
        version = (book or RuleBook.load()).get(THIRD_PARTY_RULES[channel], on)
        return Clock(kind, rule.unit, version.amount, rule.very_late, version)
    if kind == D.LEGAL:
        assert channel is not None, "a legal clock belongs to a channel"
        version = (book or RuleBook.load()).get(LEGAL_RULES[channel], on)
        days = version.amount
        if version.unit == Unit.MONTHS:
            first = start or on
            days = (add_months(first, version.amount) - first).days
        return Clock(kind, CALENDAR_DAYS, days, rule.very_late, version, day_based=True)
    return Clock(kind, rule.unit, rule.amount or 0, rule.very_late)


def answer_clock(channel: str, *, on: date, platform=None, book: RuleBook | None = None) -> Clock:
    """The answer clock that escalating to `channel` on day `on` starts."""
    return clock_of_kind(ANSWER_DEADLINE_OF_CHANNEL[channel], on=on, book=book, platform=platform,
                         channel=channel, start=on)


def answer_rule(channel: str, platform=None, on: date | None = None) -> tuple[str, str, int, int]:
    """(deadline kind, unit, amount, very_late) of the answer clock that `channel` starts."""
    from django.utils import timezone

    clock = answer_clock(channel, on=on or timezone.localdate(), platform=platform)
    return clock.kind, clock.unit, clock.amount, clock.very_late


def missing_rungs(*, reached: int, target: int) -> list[int]:
    """The levels between the highest one reached and `target` that were not tried."""
    return [level for level in range(reached + 1, target)]
