from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from escalation.models import Escalation
from stats.models import (
    CaseFact,
    DailyStat,
    DaySummary,
    DayTypeSummary,
    DurationBucket,
    MonthBucket,
    MonthDispute,
    MonthMerchant,
    MonthStat,
    MonthSummary,
    MonthTypeMerchant,
    MonthTypeSummary,
    PeriodDispute,
    PeriodDuration,
    PeriodMerchant,
    PeriodStat,
    RefreshState,
    StatsPeriod,
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

    periods = {p.id: (str(p.first_day), str(p.last_day)) for p in StatsPeriod.objects.all()}

    def period_rows(model):  # period ids differ between runs: compare by the period's dates
        names = [f.attname for f in model._meta.fields if f.attname not in ("id", "period_id")]
        return sorted((periods[row[0]], *(str(v) for v in row[1:]))
                      for row in model.objects.values_list("period_id", *names))

    return ([rows(m) for m in (CaseFact, DailyStat, DurationBucket, MonthStat, MonthDispute, MonthMerchant, MonthBucket,
                               DaySummary, MonthSummary, DayTypeSummary, MonthTypeSummary, MonthTypeMerchant)]
            + [sorted(periods.values())]
            + [period_rows(m) for m in (PeriodStat, PeriodDispute, PeriodMerchant, PeriodDuration)])


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


def test_refresh_skips_cases_whose_facts_are_current(org, platform):
    old = make_case(organization=org, platform=platform, created_at=at(2025, 3, 2))
    stats_rebuild()
    # inside the overlap but unchanged since the rebuild: looked at, not recomputed
    assert stats_refresh() == {"cases": 0, "percentiles": 0, "periods_added": 0}
    Case.objects.filter(pk=old.pk).update(status="resolved", outcome="favourable",
                                          closed_at=old.created_at + timedelta(hours=3), updated_at=timezone.now())
    result = stats_refresh()
    assert result["cases"] == 1 and result["percentiles"] > 0
    assert stats_refresh()["cases"] == 0


def test_refresh_keeps_exact_percentiles_of_standard_periods(org, other_org, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    p1 = PlatformFactory()
    cases = populate(p1, n=30, seed=21, start=at(2025, 6, 1), days=40)
    stats_rebuild()
    later = timezone.now() + timedelta(seconds=1)
    for case in cases[:8]:
        Case.objects.filter(pk=case.pk).update(status="resolved", outcome="partial", updated_at=later,
                                               closed_at=case.created_at + timedelta(minutes=37 * case.pk % 9000))
    Case.objects.filter(pk=cases[9].pk).update(organization=other_org, updated_at=later)
    stats_refresh()
    incremental = snapshot()
    stats_rebuild()
    assert snapshot() == incremental


def test_rolling_year_follows_today_and_scope_change_rebuilds(org, platform, settings):
    make_case(organization=org, platform=platform, created_at=timezone.now() - timedelta(days=3))
    stats_rebuild()
    today = timezone.localdate()
    rolling = StatsPeriod.objects.get(rolling=True)
    assert (rolling.first_day, rolling.last_day) == (today - timedelta(days=364), today)
    assert PeriodStat.objects.filter(period_id=rolling.id, opened=1).exists()
    # yesterday's rolling year is replaced by today's on the next refresh
    StatsPeriod.objects.filter(pk=rolling.pk).update(first_day=rolling.first_day - timedelta(days=1),
                                                     last_day=rolling.last_day - timedelta(days=1))
    assert stats_refresh()["periods_added"] == 1
    assert StatsPeriod.objects.get(rolling=True).last_day == today
    assert not PeriodStat.objects.filter(period_id=rolling.id).exists()
    settings.KAMENG_STATS_SCOPE = "national"
    assert "rebuilt" in stats_refresh()
    assert set(PeriodStat.objects.values_list("organization_id", flat=True)) == {0}


def test_standard_periods_never_repeat_a_calendar_year():
    from datetime import date

    from stats.services import _standard_periods

    periods = _standard_periods(date(2025, 12, 31), date(2024, 5, 1), date(2025, 12, 31))
    assert periods == [(date(2024, 1, 1), date(2024, 12, 31), False), (date(2025, 1, 1), date(2025, 12, 31), False)]
    assert _standard_periods(date(2026, 3, 1), None, None)[0] == (date(2025, 3, 2), date(2026, 3, 1), True)
