"""Spike detection: complaints against one platform far above its own recent baseline (a sign of 跑路).

Method (rules.spike_settings): the window is the last 24 h; the baseline is the platform's counts in
each of the 28 preceding 24-hour windows (mean μ, population standard deviation σ). A spike is
    count >= KAMENG_SPIKE_MIN_COUNT (10)  and  count > μ + KAMENG_SPIKE_SIGMAS (3) · max(σ, √μ, 1).
√μ is the standard deviation of a Poisson count with mean μ: a quiet platform (μ ≈ 0) needs the
minimum count, a busy one must exceed its usual spread. Counts are over every organization's cases.

The same spike is reported once: an incident whose window overlaps the current one is extended
(new cases added, no new alert) and incidents are unique per platform and day.
"""

import math
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from cases.models import Case
from kameng_api.core.tasks import enqueue

from . import rules
from .models import MassIncident, MassIncidentNotice

DAY = timedelta(hours=24)


def baseline(counts: list[int]) -> tuple[float, float]:
    mean = sum(counts) / len(counts)
    return mean, math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))


def threshold_for(mean: float, stddev: float, sigmas: float) -> float:
    return mean + sigmas * max(stddev, math.sqrt(mean), 1.0)


def spikes_detect(*, now=None) -> list[MassIncident]:
    """Find today's spikes, record them as mass incidents and alert supervisors once. Idempotent."""
    now = now or timezone.now()
    cfg = rules.spike_settings()
    window_start = now - DAY
    base_start = window_start - cfg["baseline_days"] * DAY
    candidates = (
        Case.objects.filter(created_at__gte=window_start, created_at__lt=now)
        .values("platform_id").annotate(n=Count("id")).filter(n__gte=cfg["min_count"])
    )
    incidents = []
    for row in candidates:
        counts = [0] * cfg["baseline_days"]
        for created in Case.objects.filter(platform_id=row["platform_id"], created_at__gte=base_start,
                                           created_at__lt=window_start).values_list("created_at", flat=True):
            counts[min(int((window_start - created) / DAY), len(counts) - 1)] += 1
        mean, stddev = baseline(counts)
        limit = threshold_for(mean, stddev, cfg["sigmas"])
        if row["n"] > limit:
            incidents.append(_record(row["platform_id"], row["n"], mean, stddev, limit, window_start, now))
    return incidents


def _record(platform_id, count, mean, stddev, limit, window_start, now) -> MassIncident:
    case_ids = list(Case.objects.filter(platform_id=platform_id, created_at__gte=window_start, created_at__lt=now)
                    .values_list("id", flat=True))
    with transaction.atomic():
        incident = (MassIncident.objects.select_for_update()
                    .filter(platform_id=platform_id, window_end__gt=window_start).order_by("-window_end").first())
        if incident is None:
            try:
                with transaction.atomic():
                    incident = MassIncident.objects.create(
                        platform_id=platform_id, day=timezone.localdate(now), window_start=window_start,
                        window_end=now, count=count, baseline_mean=round(mean, 3), baseline_stddev=round(stddev, 3),
                        threshold=round(limit, 3))
            except IntegrityError:  # a concurrent run recorded it first
                incident = MassIncident.objects.select_for_update().get(
                    platform_id=platform_id, day=timezone.localdate(now))
        if now > incident.window_end:
            incident.window_end = now
        incident.count = max(incident.count, len(set(case_ids) | set(incident.cases.values_list("id", flat=True))))
        incident.save()
        incident.cases.add(*case_ids)
        _notify_new_organizations(incident)
    return incident


def _notify_new_organizations(incident: MassIncident) -> None:
    org_ids = set(incident.cases.values_list("organization_id", flat=True))
    for org_id in org_ids:
        notice, created = MassIncidentNotice.objects.get_or_create(incident=incident, organization_id=org_id)
        if created:
            enqueue("stats.notify_mass_incident", notice.id)
