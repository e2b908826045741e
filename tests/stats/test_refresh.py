from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from escalation.models import Escalation
from stats.models import (
    CaseFact,
    DailyStat,
    DurationBucket,
    MonthBucket,
    MonthDispute,
    MonthMerchant,
    MonthStat,
    RefreshState,
)
from stats.services import stats_rebuild, stats_refresh
from stats.tasks import rebuild_stats, refresh_stats
from tests.factories import PlatformFactory

from .conftest import at, make_case, platform_escalation

pytestmark = pytest.mark.django_db


def snapshot():
    def rows(model, exclude=("id",)):
        names = [f.attname for f in model._meta.fields if f.attname not in exclude]
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*names))

    return [rows(m) for m in (CaseFact, DailyStat, DurationBucket, MonthStat, MonthDispute, MonthMerchant, MonthBucket)]


def test_incremental_refresh_equals_a_full_rebuild(org, other_org, populate):
    p1, p2 = PlatformFactory(), PlatformFactory()
    cases = populate(p1, n=40, seed=11) + populate(p2, n=20, seed=12, organization=other_org)
    stats_rebuild()
    # Changes after the watermark: a status change, a moved case, an answered escalation, new cases.
    later = timezone.now() + timedelta(seconds=1)
    Case.objects.filter(pk=cases[0].pk).update(status="resolved", outcome="favourable",
                                               closed_at=cases[0].created_at + timedelta(days=1), updated_at=later)
    Case.objects.filter(pk=cases[1].pk).update(platform=p2, updated_at=later)
    escalation = platform_escalation(cases[2], answer_after=None)
    Escalation.objects.filter(pk=escalation.pk).update(responded_at=escalation.submitted_at + timedelta(hours=5),
                                                       updated_at=later)
    make_case(organization=org, platform=p1, created_at=at(2025, 3, 3), status="resolved", outcome="partial",
              closed_after=timedelta(hours=30))
    result = stats_refresh()
    assert result["cases"] >= 4
    incremental = snapshot()
    stats_rebuild()
    assert snapshot() == incremental


def test_refresh_without_a_watermark_rebuilds(org, platform):
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2))
    assert "rebuilt" in stats_refresh()
    assert CaseFact.objects.count() == 1
    assert RefreshState.objects.get().watermark is not None


def test_refresh_and_rebuild_are_idempotent(org, populate):
    platform = PlatformFactory()
    populate(platform, n=25, seed=5)
    rebuild_stats()
    first = snapshot()
    rebuild_stats()
    assert snapshot() == first
    refresh_stats()
    refresh_stats()
    assert snapshot() == first


def test_refresh_touches_only_changed_groups(org, platform):
    old = make_case(organization=org, platform=platform, created_at=at(2025, 3, 2))
    stats_rebuild()
    RefreshState.objects.update(watermark=timezone.now())
    # nothing changed since the watermark minus the overlap... except cases saved in the last minutes
    Case.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    assert stats_refresh() == {"cases": 0, "groups": 0}
