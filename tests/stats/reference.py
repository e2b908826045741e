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
        answered = [e for e in platform_rows if e.responded_at]
        responded += bool(answered)
        in_window += any(e.due_at is None or e.responded_at <= e.due_at for e in answered)
        if answered:
            response_minutes.append(min(whole_minutes(e.responded_at - e.submitted_at) for e in answered))
    resolution_minutes = [whole_minutes(c.closed_at - c.created_at) for c in resolved]
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
    }
