"""The case's timeline (时间轴): the order's facts, the evidence and the case's history ordered by when
they happened, and the gaps between them that the rules care about.

Seed 000 asks for evidence arranged "按时间轴": from the order to the discovery of the problem to the
talks with the seller. The limits below are a table (GAP_RULES):
- delivery over 48 h after payment is a breach (seeds 001, 002: 虚拟商品超48小时未到账);
- the platform's own complaint window after delivery (seed 001: "交付后24小时内反馈问题"; per platform,
  Platform.complaint_window_hours, counted from delivery or from discovery);
- proof of the problem preserved within 24 h of discovery (seed 004: 发现问题后需立即截图、录屏，并在24小时内
  启动退款流程);
- the merchant or platform contacted within 7 days of discovery (seed 000: the consumer who waited 7 days
  was refused "超时"; seed 001: 问题发生7天内申诉)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone, translation

from cases.codes import EventKind
from cases.models import Case

from .codes import EvidenceStatus, Stage


@dataclass(frozen=True)
class GapRule:
    code: str
    limit_hours: int | None  # None: the platform's complaint window
    source: str
    zh: str
    en: str

    @property
    def hours(self) -> int:
        """The limit of a rule that has a fixed one (all but the platform's complaint window)."""
        assert self.limit_hours is not None, self.code
        return self.limit_hours


DELIVERY_LATE = GapRule("delivery_late", 48, "seeds 001, 002",
                        "交付用了 {hours} 小时，超过 48 小时（虚拟商品超 48 小时未到账即属违约）。",
                        "Delivery took {hours} h, more than 48 h (a virtual good not received within 48 h is a "
                        "breach).")
NOT_DELIVERED = GapRule("not_delivered", 48, "seeds 001, 002",
                        "付款后 {hours} 小时仍未交付，已超过 48 小时。",
                        "Not delivered {hours} h after payment: more than 48 h.")
OUTSIDE_WINDOW = GapRule("outside_platform_window", None, "seed 001",
                         "问题在{start}后 {hours} 小时才发现/反馈，超出该平台 {limit} 小时的投诉时限；需说明未及时反馈的合理理由。",
                         "The problem was raised {hours} h after {start}, outside the platform's {limit} h "
                         "complaint window; record a good reason for the delay.")
EVIDENCE_LATE = GapRule("evidence_late", 24, "seed 004",
                        "问题发现 {hours} 小时后才保存问题证明，超过 24 小时，证据可能已灭失或被质疑。",
                        "Proof of the problem was captured {hours} h after discovery, later than 24 h: it may be "
                        "lost or questioned.")
NO_EVIDENCE = GapRule("problem_evidence_missing", 24, "seed 004",
                      "问题发现已 {hours} 小时，仍没有问题证明（截图或录屏），应在 24 小时内保存。",
                      "{hours} h since the problem was found and still no proof of it (screenshot or recording); "
                      "it should be kept within 24 h.")
CONTACT_LATE = GapRule("contact_late", 24 * 7, "seeds 000, 001",
                       "问题发现 {hours} 小时后才与商家/平台联系，超过 7 天，平台可能以“超时”拒绝。",
                       "The merchant or platform was contacted {hours} h after discovery, more than 7 days: the "
                       "platform may refuse it as too late.")

GAP_RULES = (DELIVERY_LATE, NOT_DELIVERED, OUTSIDE_WINDOW, EVIDENCE_LATE, NO_EVIDENCE, CONTACT_LATE)


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 1)


def _gap(rule: GapRule, begin: datetime, end: datetime, limit: int, **extra) -> dict:
    hours = _hours(begin, end)
    text = (rule.en if _english() else rule.zh).format(hours=hours, limit=limit, **extra)
    return {"code": rule.code, "from": begin, "to": end, "hours": hours, "limit_hours": limit, "message": text,
            "source": rule.source}


def gaps(case: Case, evidence: list, now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    found = []
    active = [e for e in evidence if e.status == EvidenceStatus.ACTIVE]
    if case.delivered_at:
        if _hours(case.purchased_at, case.delivered_at) > DELIVERY_LATE.hours:
            found.append(_gap(DELIVERY_LATE, case.purchased_at, case.delivered_at, DELIVERY_LATE.hours))
    elif _hours(case.purchased_at, now) > NOT_DELIVERED.hours:
        found.append(_gap(NOT_DELIVERED, case.purchased_at, now, NOT_DELIVERED.hours))

    window = case.platform.complaint_window_hours
    contacts = sorted(e.occurred_at for e in active if e.stage == Stage.NEGOTIATION)
    from_delivery = case.platform.complaint_window_from == "delivery"
    if from_delivery and case.delivered_at and _hours(case.delivered_at, case.problem_found_at) > window:
        start = "交付" if not _english() else "delivery"
        found.append(_gap(OUTSIDE_WINDOW, case.delivered_at, case.problem_found_at, window, start=start))
    if not from_delivery and contacts and _hours(case.problem_found_at, contacts[0]) > window:
        start = "发现问题" if not _english() else "discovery"
        found.append(_gap(OUTSIDE_WINDOW, case.problem_found_at, contacts[0], window, start=start))

    proofs = sorted(min(e.occurred_at, e.captured_at) for e in active if e.stage == Stage.PROBLEM)
    if proofs:
        if _hours(case.problem_found_at, proofs[0]) > EVIDENCE_LATE.hours:
            found.append(_gap(EVIDENCE_LATE, case.problem_found_at, proofs[0], EVIDENCE_LATE.hours))
    elif _hours(case.problem_found_at, now) > NO_EVIDENCE.hours:
        found.append(_gap(NO_EVIDENCE, case.problem_found_at, now, NO_EVIDENCE.hours))

    if contacts and _hours(case.problem_found_at, contacts[0]) > CONTACT_LATE.hours:
        found.append(_gap(CONTACT_LATE, case.problem_found_at, contacts[0], CONTACT_LATE.hours))
    return found


FACT_LABELS = {
    "purchased": ("下单付款", "Order paid", Stage.TRANSACTION),
    "delivered": ("商家交付", "Delivered", Stage.DELIVERY),
    "problem_found": ("发现问题", "Problem found", Stage.PROBLEM),
}


def events(case: Case, evidence: list, case_events: list) -> list[dict]:
    english = _english()
    result: list[dict[str, Any]] = []
    for code, when in (("purchased", case.purchased_at), ("delivered", case.delivered_at),
                       ("problem_found", case.problem_found_at)):
        if when is None:
            continue
        zh, en, stage = FACT_LABELS[code]
        result.append({"occurred_at": when, "type": "fact", "code": code, "label": en if english else zh,
                       "stage": stage, "evidence": None, "detail": {}})
    for item in evidence:
        result.append({
            "occurred_at": item.occurred_at, "type": "evidence", "code": item.kind,
            "label": str(item.get_kind_display()), "stage": item.stage, "evidence": item.pk,
            "detail": {"status": item.status, "captured_at": item.captured_at, "sha256": item.sha256,
                       "description": item.description, "original_name": item.original_name},
        })
    for event in case_events:
        if event.kind == EventKind.EVIDENCE_ADDED:
            continue  # the item itself is on the timeline, at the time the fact happened
        result.append({
            "occurred_at": event.occurred_at, "type": "case_event", "code": event.kind,
            "label": str(event.get_kind_display()), "stage": None, "evidence": (event.data or {}).get("evidence"),
            "detail": {"from_status": event.from_status, "to_status": event.to_status, "note": event.note},
        })
    order = {"fact": 0, "evidence": 1, "case_event": 2}
    result.sort(key=lambda e: (e["occurred_at"], order[e["type"]], e["evidence"] or 0))
    return result


def timeline(case: Case, evidence: list, case_events: list, now: datetime | None = None) -> dict:
    return {"case": case.pk, "reference": case.reference, "events": events(case, evidence, case_events),
            "gaps": gaps(case, evidence, now)}
