"""The endpoint against an independent recomputation from the raw case and escalation rows (reference.py),
over standard and non-standard periods, filters and both scopes; no-responses and levels reached."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Merchant
from cases.services import case_transition
from escalation.models import Escalation
from escalation.services import escalation_answer
from kameng_api.core.roles import Role
from stats import ranges
from stats.services import stats_rebuild, stats_refresh
from tests.factories import PlatformFactory

from .conftest import make_case, platform_escalation
from .reference import expected, percentile_cont
from .test_refresh import snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/platforms/"


def _close(got, want):
    return (got is None and want is None) or (got is not None and want is not None and abs(got - want) < 1e-6)


def assert_row(row, want, label):
    where = f"{label} {row['platform']['name']}"
    assert row["complaints"] == want["complaints"], where
    assert {k: v for k, v in row["by_status"].items() if v} == want["by_status"], where
    assert row["by_dispute_type"] == want["by_dispute_type"], where
    assert row["closed"] == want["closed"], where
    assert row["outcomes"] == want["outcomes"], where
    assert (row["resolution_rate"]["numerator"], row["resolution_rate"]["denominator"]) == (
        want["resolved"], want["closed"]), where
    assert row["favourable_rate"]["numerator"] == want["favourable"], where
    rate = row["platform_response_rate"]
    assert (rate["numerator"], rate["denominator"]) == (want["responded"], want["escalated"]), where
    assert row["platform_response_in_window_rate"]["numerator"] == want["in_window"], where
    for name, key in (("platform_response_minutes", "response"), ("resolution_minutes", "resolution")):
        assert row[name]["count"] == want[f"{key}_count"], where
        if want[f"{key}_count"]:
            assert _close(row[name]["median"], round(want[f"{key}_median"], 2)), (where, name)
            assert _close(row[name]["p90"], round(want[f"{key}_p90"], 2)), (where, name)
    assert row["amount_disputed"] == f"{want['amount_disputed']:.2f}", where
    assert row["amount_recovered"] == f"{want['amount_recovered']:.2f}", where
    assert row["escalation_levels"] == want["escalation_levels"], where
    assert row["highest_escalation_level"] == want["highest_escalation_level"], where
    assert row["consumer_rating"]["count"] == want["rating_count"], where
    assert _close(row["consumer_rating"]["average"], want["rating_average"]), where
    assert [(-m["complaints"], m["id"]) for m in row["top_merchants"]] == want["top_merchants"], where


def _fill(platform, organization, *, n, seed, first, last, handler_user):
    """Cases opened between `first` and `last` (local days) with every kind of ending: answered, not yet
    answered, closed as no-response (through the service, and as rows the old service wrote), levels
    reached by escalations and by status transitions alone."""
    rng = random.Random(seed)
    merchants = [Merchant.objects.get_or_create(platform=platform, name=f"{platform.name}店{i}")[0] for i in range(6)]
    span = (last - first).days + 1
    tz = timezone.get_default_timezone()
    for _i in range(n):
        day = first + timedelta(days=rng.randrange(span))
        created = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60),
                                    rng.randrange(60), tzinfo=tz)
        status = rng.choice(["intake", "negotiating", "platform_review", "third_party", "legal", "resolved",
                             "resolved", "rejected", "withdrawn"])
        closed = status in ("resolved", "rejected", "withdrawn")
        outcome = rng.choice(["favourable", "partial", "unfavourable"]) if status == "resolved" else ""
        case = make_case(
            organization=organization, platform=platform, created_at=created, status=status, outcome=outcome,
            closed_after=timedelta(minutes=rng.choice([rng.randrange(30, 60 * 24 * 40), 60, 1440, 2880]))
            if closed else None,
            merchant=rng.choice([*merchants, None]), product_type=rng.choice(["game_card", "membership"]),
            dispute_type=rng.choice(["invalid_code", "delivery_delay", "fraud"]),
            amount_paid=Decimal(rng.randrange(100, 90000)) / 100,
            amount_recovered=Decimal(rng.randrange(0, 5000)) / 100 if outcome else None,
            rating=rng.randrange(1, 6) if outcome else None,
        )
        kind = rng.random()
        if kind < 0.35:  # answered, at bucket bounds too (1 day, 3 days) and in between
            minutes = rng.choice([1440, 4320, rng.randrange(1, 60 * 24 * 9)])
            platform_escalation(case, answer_after=timedelta(minutes=minutes, seconds=rng.randrange(60)))
        elif kind < 0.45:
            platform_escalation(case)  # still waiting
        elif kind < 0.55:  # closed as no response by the service (open cases only)
            escalation = platform_escalation(case)
            if status not in ("resolved", "rejected", "withdrawn"):
                escalation_answer(actor=handler_user, escalation=escalation, outcome="no_response")
            else:
                Escalation.objects.filter(pk=escalation.pk).update(outcome="no_response")
        elif kind < 0.6:  # what the old service wrote: no_response with the recording time as "answer"
            escalation = platform_escalation(case, answer_after=timedelta(hours=7))
            Escalation.objects.filter(pk=escalation.pk).update(outcome="no_response")
        if rng.random() < 0.15:
            Escalation.objects.create(case=case, channel="12315", level=3,
                                      submitted_at=case.created_at + timedelta(days=2))


@pytest.fixture
def world(org, other_org, make_user):
    handler_user = make_user(role=Role.HANDLER)
    today = timezone.localdate()
    first, last = today - timedelta(days=560), today - timedelta(days=9)
    p1, p2, silent = PlatformFactory(name="甲卡盟"), PlatformFactory(name="乙卡盟"), PlatformFactory(name="丙卡盟")
    _fill(p1, org, n=150, seed=1, first=first, last=last, handler_user=handler_user)
    _fill(p2, org, n=70, seed=2, first=first, last=last, handler_user=handler_user)
    _fill(p1, other_org, n=40, seed=3, first=first, last=last, handler_user=handler_user)
    # A platform that never answers: 12 complaints escalated to it, 6 closed as "no response".
    for i in range(12):
        case = make_case(organization=org, platform=silent, created_at=timezone.now() - timedelta(days=30 + i),
                         status="platform_review")
        escalation = platform_escalation(case)
        if i % 2:
            escalation_answer(actor=handler_user, escalation=escalation, outcome="no_response")
    return {"platforms": (p1, p2, silent), "today": today}


def _ranges(today):
    last_month_end = today.replace(day=1) - timedelta(days=1)
    quarter_first_month = (today.month - 1) // 3 * 3 + 1
    quarter_end = date(today.year, quarter_first_month, 1) - timedelta(days=1)
    quarter_start = date(quarter_end.year, quarter_end.month - 2, 1)
    return {
        "calendar year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        "rolling 365 (default)": (today - timedelta(days=364), today),
        "365 days ending last month": (last_month_end - timedelta(days=364), last_month_end),
        "a quarter": (quarter_start, quarter_end),
        "custom": (today - timedelta(days=417), today - timedelta(days=53)),
        "inside one month": (last_month_end.replace(day=3), last_month_end.replace(day=20)),
        "one day": (today - timedelta(days=40), today - timedelta(days=40)),
        "everything": (today - timedelta(days=600), today),
    }


def test_every_range_matches_the_raw_rows(analyst, org, world, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    stats_rebuild()
    platforms = world["platforms"]
    for label, (first, last) in _ranges(world["today"]).items():
        body = analyst.get(URL, {"from": first.isoformat(), "to": last.isoformat(), "page_size": 100}).json()
        rows = {r["platform"]["id"]: r for r in body["results"]}
        for platform in platforms:
            assert_row(rows[platform.id], expected(platform, first, last, organization=org), label)


FILTERS = ({"product_type": "membership"}, {"dispute_type": "fraud"},
           {"product_type": "game_card", "dispute_type": "delivery_delay"})


def test_filters_match_the_raw_rows_at_every_range(analyst, org, world, settings):
    """A product type, a dispute type, both: over standard periods (not precomputed with a filter) and
    composed ones, from the filtered summaries."""
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    stats_rebuild()
    for label, (first, last) in _ranges(world["today"]).items():
        for extra in FILTERS:
            body = analyst.get(URL, {"from": first.isoformat(), "to": last.isoformat(), "page_size": 100,
                                     **extra}).json()
            rows = {r["platform"]["id"]: r for r in body["results"]}
            for platform in world["platforms"]:
                assert_row(rows[platform.id], expected(platform, first, last, organization=org, **extra),
                           f"{label} {extra}")


def test_filtered_composition_reads_the_filtered_summaries(org, world, settings):
    """The composed figures with a filter equal the daily tables' figures, and the filtered summaries hold
    exactly one row per platform and month for each filter (the cost of an unfiltered request)."""
    from stats.models import MonthSummary, MonthTypeSummary
    from stats.selectors import StatsFilter, _composed_summaries, _daily_summaries

    settings.KAMENG_STATS_MIN_SAMPLE = 1
    stats_rebuild()
    ids = [p.id for p in world["platforms"]]
    first, last = _ranges(world["today"])["custom"]
    for extra in FILTERS:
        filters = StatsFilter(date_from=first, date_to=last, organization_id=org.id, **extra)
        assert _composed_summaries(ids, filters) == _daily_summaries(ids, filters), extra
    per_month = MonthTypeSummary.objects.filter(product_type="membership", dispute_type="")
    assert per_month.count() <= MonthSummary.objects.count()
    assert sum(per_month.values_list("opened", flat=True)) == sum(
        MonthTypeSummary.objects.filter(product_type="membership").exclude(dispute_type="")
        .values_list("opened", flat=True))


def test_filtered_figures_follow_a_refresh(analyst, org, world, make_user, settings):
    """New and changed cases reach the filtered figures through the incremental refresh."""
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    stats_rebuild()
    p1 = world["platforms"][0]
    handler_user = make_user(role=Role.HANDLER)
    for i in range(4):
        make_case(organization=org, platform=p1, created_at=timezone.now() - timedelta(days=45 + i),
                  product_type="membership", dispute_type="fraud", status="resolved", outcome="favourable",
                  closed_after=timedelta(minutes=100 + i))
    case = make_case(organization=org, platform=p1, created_at=timezone.now() - timedelta(days=44),
                     product_type="membership", dispute_type="fraud")
    case_transition(actor=handler_user, case=case, to="negotiating")
    stats_refresh()
    first, last = _ranges(world["today"])["365 days ending last month"][0], world["today"] - timedelta(days=2)
    for extra in FILTERS:
        body = analyst.get(URL, {"from": first.isoformat(), "to": last.isoformat(), **extra}).json()
        rows = {r["platform"]["id"]: r for r in body["results"]}
        assert_row(rows[p1.id], expected(p1, first, last, organization=org, **extra), f"refreshed {extra}")


def test_national_scope_matches_the_raw_rows_of_every_organization(analyst, world, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    settings.KAMENG_STATS_SCOPE = "national"
    stats_rebuild()
    for label in ("365 days ending last month", "rolling 365 (default)", "custom"):
        first, last = _ranges(world["today"])[label]
        for extra in ({}, *FILTERS):
            body = analyst.get(URL, {"from": first.isoformat(), "to": last.isoformat(), **extra}).json()
            rows = {r["platform"]["id"]: r for r in body["results"]}
            for platform in world["platforms"]:
                assert_row(rows[platform.id], expected(platform, first, last, **extra), f"national {label} {extra}")


def test_a_platform_that_never_answers_shows_no_answers(analyst, world, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    stats_rebuild()
    silent = world["platforms"][2]
    today = world["today"]
    for first, last in ((today - timedelta(days=364), today), (today - timedelta(days=100), today - timedelta(days=3))):
        body = analyst.get(URL, {"from": first.isoformat(), "to": last.isoformat(), "page_size": 100}).json()
        row = next(r for r in body["results"] if r["platform"]["id"] == silent.id)
        assert row["platform_response_rate"] == {"value": 0.0, "numerator": 0, "denominator": 12,
                                                 "withheld_reason": None}
        assert row["platform_response_in_window_rate"]["numerator"] == 0
        assert row["platform_response_minutes"]["count"] == 0
        assert row["platform_response_minutes"]["median"] is None
        assert row["escalation_levels"] == {"1": 0, "2": 12, "3": 0, "4": 0}


def test_levels_reached_by_transitions_alone_are_counted(analyst, org, make_user, platform, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    supervisor = make_user(role=Role.SUPERVISOR)
    moved = []
    for path in (["negotiating"], ["negotiating", "platform_review"],
                 ["negotiating", "platform_review", "third_party"],
                 ["negotiating", "platform_review", "third_party", "legal"]):
        case = make_case(organization=org, platform=platform, created_at=timezone.now() - timedelta(days=5))
        for status in path:
            case = case_transition(actor=supervisor, case=case, to=status)
        moved.append(case)
    stats_rebuild()
    body = analyst.get(URL).json()
    row = next(r for r in body["results"] if r["platform"]["id"] == platform.id)
    assert row["escalation_levels"] == {"1": 1, "2": 1, "3": 1, "4": 1}
    assert row["highest_escalation_level"] == 4
    # Resolving a case at the platform rung: its level by status is gone, and no escalation row was written.
    case_transition(actor=supervisor, case=moved[1], to="resolved",
                    outcome={"outcome": "favourable", "resolution": "已退款"})
    stats_refresh()
    row = next(r for r in analyst.get(URL).json()["results"] if r["platform"]["id"] == platform.id)
    assert row["escalation_levels"] == {"1": 1, "2": 0, "3": 1, "4": 1}


def test_refresh_after_no_responses_and_transitions_equals_a_rebuild(org, world, make_user):
    stats_rebuild()
    handler_user = make_user(role=Role.HANDLER)
    p1 = world["platforms"][0]
    waiting = (Escalation.objects.filter(case__platform=p1, channel="platform", outcome="pending",
                                         case__status__in=["intake", "negotiating", "platform_review"])
               .select_related("case")[:3])
    assert waiting
    for escalation in waiting:
        escalation_answer(actor=handler_user, escalation=escalation, outcome="no_response")
    case = make_case(organization=org, platform=p1, created_at=timezone.now() - timedelta(days=2))
    case_transition(actor=handler_user, case=case, to="negotiating")
    stats_refresh()
    incremental = snapshot()
    stats_rebuild()
    assert snapshot() == incremental


def test_spans_cover_exactly_the_days_of_the_period():
    rng = random.Random(5)
    for _ in range(400):
        first = date(2023, 1, 1) + timedelta(days=rng.randrange(1200))
        last = first + timedelta(days=rng.choice([0, 1, 5, 27, 31, 45, 90, 364, 365, 700, rng.randrange(1500)]))
        months, plus, minus = ranges.spans(first, last)
        count = {}
        month = months[0] if months else None
        while months and month <= months[1]:
            day = month
            while day.month == month.month:
                count[day] = count.get(day, 0) + 1
                day += timedelta(days=1)
            month = day
        for sign, spans in ((1, plus), (-1, minus)):
            for a, b in spans:
                day = a
                while day <= b:
                    count[day] = count.get(day, 0) + sign
                    day += timedelta(days=1)
        covered = sorted(d for d, n in count.items() if n)
        assert all(n in (0, 1) for n in count.values()), (first, last)
        assert covered[0] == first and covered[-1] == last and len(covered) == (last - first).days + 1
        assert len(plus) + len(minus) <= 4


def test_medians_are_exact_across_bucket_bounds(analyst, org, settings):
    """Values on and around the bounds of the fixed buckets; ranks whose neighbours lie in other buckets."""
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    created = timezone.now() - timedelta(days=20)
    minutes = [59, 60, 60, 61, 89, 1439, 1440, 1440, 1441, 4319, 4320, 525599, 525600, 600000]
    sets = {PlatformFactory(): minutes, PlatformFactory(): minutes[:5], PlatformFactory(): minutes[3:10],
            PlatformFactory(): [1439, 1441], PlatformFactory(): [0, 525600]}
    for platform, values in sets.items():
        for m in values:
            make_case(organization=org, platform=platform, created_at=created, status="resolved", outcome="partial",
                      closed_after=timedelta(minutes=m, seconds=30))
    stats_rebuild()
    query = {"from": (created - timedelta(days=33)).date().isoformat(),
             "to": (created + timedelta(days=2)).date().isoformat(), "page_size": 100}
    rows = {r["platform"]["id"]: r for r in analyst.get(URL, query).json()["results"]}
    for platform, values in sets.items():
        figures = rows[platform.id]["resolution_minutes"]
        assert figures["count"] == len(values)
        assert figures["median"] == round(percentile_cont(values, 0.5), 2), values
        assert figures["p90"] == round(percentile_cont(values, 0.9), 2), values
