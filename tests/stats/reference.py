"""An independent computation of the figures straight from cases and escalations (ORM + Python)."""

import math
from datetime import timedelta

from django.utils import timezone

from cases.models import Case
from escalation.models import Escalation


def percentile_cont(values: list[float], p: float):
    values = sorted(values)
    if not values:
        return None
    pos = p * (len(values) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return values[low] + (values[high] - values[low]) * (pos - low)


def whole_minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


LEVEL_BY_STATUS = {"negotiating": 1, "platform_review": 2, "third_party": 3, "legal": 4}  # README, escalation


def expected(platform, date_from, date_to, organization=None, **filters):
    cases = [c for c in Case.objects.filter(platform=platform, **filters)
             if date_from <= timezone.localtime(c.created_at).date() <= date_to
             and (organization is None or c.organization_id == organization.id)]
    closed = [c for c in cases if c.status in ("resolved", "rejected", "withdrawn")]
    resolved = [c for c in cases if c.status == "resolved"]
    escalated, responded, in_window, response_minutes = 0, 0, 0, []
    for case in cases:
        platform_rows = list(Escalation.objects.filter(case=case, channel="platform"))
        if not platform_rows:
            continue
        escalated += 1
        answered = [e for e in platform_rows if e.responded_at and e.outcome != "no_response"]
        responded += bool(answered)
        in_window += any(e.due_at is None or e.responded_at <= e.due_at for e in answered)
        if answered:
            response_minutes.append(min(whole_minutes(e.responded_at - e.submitted_at) for e in answered))
    resolution_minutes = [whole_minutes(c.closed_at - c.created_at) for c in resolved]
    levels = {str(n): 0 for n in (1, 2, 3, 4)}
    merchants, disputes = {}, {}
    for case in cases:
        by_rows = max((e.level for e in Escalation.objects.filter(case=case)), default=0)
        level = max(by_rows, LEVEL_BY_STATUS.get(case.status, 0))
        if level:
            levels[str(level)] += 1
        if case.merchant_id:
            merchants[case.merchant_id] = merchants.get(case.merchant_id, 0) + 1
        disputes[case.dispute_type] = disputes.get(case.dispute_type, 0) + 1
    ratings = [c.consumer_rating for c in cases if c.consumer_rating is not None]
    return {
        "complaints": len(cases),
        "closed": len(closed),
        "resolved": len(resolved),
        "favourable": sum(c.outcome == "favourable" for c in cases),
        "escalated": escalated,
        "responded": responded,
        "in_window": in_window,
        "response_median": percentile_cont(response_minutes, 0.5),
        "response_p90": percentile_cont(response_minutes, 0.9),
        "response_count": len(response_minutes),
        "resolution_median": percentile_cont(resolution_minutes, 0.5),
        "resolution_p90": percentile_cont(resolution_minutes, 0.9),
        "resolution_count": len(resolution_minutes),
        "amount_disputed": sum((c.amount_paid for c in cases), start=0),
        "by_status": {s: sum(c.status == s for c in cases) for s in {c.status for c in cases}},
        "amount_recovered": sum((c.amount_recovered or 0 for c in cases), start=0),
        "escalation_levels": levels,
        "highest_escalation_level": max((int(k) for k, v in levels.items() if v), default=None),
        "by_dispute_type": disputes,
        "top_merchants": sorted(((-n, m) for m, n in merchants.items()))[:5],
        "rating_count": len(ratings),
        "rating_average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "outcomes": {o: sum(c.outcome == o for c in cases) for o in ("favourable", "partial", "unfavourable")},
    }
