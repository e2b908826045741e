"""Case rules that are data: the status machine and the claim rules (PRODUCT.md; seed 000)."""

from decimal import ROUND_HALF_UP, Decimal

from .codes import DisputeType, Status

S = Status

# Forward along the ladder, or out of it. A move not listed is illegal (409, allowed moves named).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.INTAKE: (S.COLLECTING_EVIDENCE, S.NEGOTIATING, S.REJECTED, S.WITHDRAWN),
    S.COLLECTING_EVIDENCE: (S.NEGOTIATING, S.PLATFORM_REVIEW, S.REJECTED, S.WITHDRAWN),
    S.NEGOTIATING: (S.COLLECTING_EVIDENCE, S.PLATFORM_REVIEW, S.RESOLVED, S.REJECTED, S.WITHDRAWN),
    S.PLATFORM_REVIEW: (S.COLLECTING_EVIDENCE, S.THIRD_PARTY, S.RESOLVED, S.REJECTED, S.WITHDRAWN),
    S.THIRD_PARTY: (S.COLLECTING_EVIDENCE, S.LEGAL, S.RESOLVED, S.REJECTED, S.WITHDRAWN),
    S.LEGAL: (S.RESOLVED, S.REJECTED, S.WITHDRAWN),
    S.RESOLVED: (),
    S.REJECTED: (),
    S.WITHDRAWN: (),
}

# An escalation (escalation app) moves the case to its level's status: forward along the ladder from any
# open status, skipped rungs included (the escalation checks the skip reason, escalation/rules.py).
LADDER_STATUSES = (S.NEGOTIATING, S.PLATFORM_REVIEW, S.THIRD_PARTY, S.LEGAL)


def escalation_allows(from_status: str, to: str) -> bool:
    if to not in LADDER_STATUSES or from_status not in (S.INTAKE, S.COLLECTING_EVIDENCE, *LADDER_STATUSES):
        return False
    if from_status not in LADDER_STATUSES:
        return True
    return LADDER_STATUSES.index(to) > LADDER_STATUSES.index(from_status)


# Moves only a supervisor may make: the legal level needs a supervisor's approval (PRODUCT.md).
SUPERVISOR_ONLY_TARGETS = frozenset({S.LEGAL})

# Consumer Rights Protection Law art. 55: three times the price, at least 500 CNY, only for fraud (欺诈).
PUNITIVE_MULTIPLIER = Decimal(3)
PUNITIVE_MINIMUM = Decimal(500)
FRAUD_DISPUTE_TYPES = frozenset({DisputeType.FRAUD})


def has_deception(*, dispute_type: str, deception: str = "", fraud_suspected: bool = False) -> bool:
    """欺诈 under CPL art. 55 is false advertising or deliberate concealment (面值缩水, a "lifetime" membership that
    is a trial), as well as taking the money and vanishing: a recorded kind of deception, the fraud flag, or the
    fraud dispute type ground it. A dispute type such as "not as described" alone does not."""
    return bool(deception) or bool(fraud_suspected) or dispute_type in FRAUD_DISPUTE_TYPES

CENT = Decimal("0.01")


def allowed_targets(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def punitive_amount(amount_paid: Decimal) -> Decimal:
    """退一赔三: 3 × the price, and 500 CNY where three times the price is less."""
    return max(amount_paid * PUNITIVE_MULTIPLIER, PUNITIVE_MINIMUM).quantize(CENT, rounding=ROUND_HALF_UP)


def recovered_limit(amount_paid: Decimal) -> Decimal:
    """The most a resolution can plausibly recover: the price back plus art. 55's punitive damages
    (退一赔三, at least 500 CNY). A larger figure is a typo (a misplaced decimal point), refused wherever an
    outcome is recorded (API and admin alike)."""
    return amount_paid + punitive_amount(amount_paid)


def is_unreasonable(kind: str, amount: Decimal | None, amount_paid: Decimal, ratio: int) -> bool:
    """Seed 000: a claim far beyond the loss (a 10 CNY card, 1000 CNY asked) lowers the chance of success.

    A refund or compensation above `ratio` × the price is flagged; the statutory punitive amount never is.
    """
    if amount is None or kind in ("punitive", "redelivery"):
        return False
    return amount > amount_paid * ratio
