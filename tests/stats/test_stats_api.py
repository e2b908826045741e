import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection

from cases.services import api_key_create
from kameng_api.core.roles import Role
from stats.models import DailyStat, DurationBucket
from stats.services import stats_rebuild
from tests.factories import PlatformFactory
from tests.helpers import assert_error

from .conftest import at, make_case
from .reference import expected

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/platforms/"
PERIOD = {"from": "2025-03-01", "to": "2025-03-05"}


def _row(body, platform):
    return next(r for r in body["results"] if r["platform"]["id"] == platform.id)


def _close(a, b):
    return (a is None and b is None) or abs(a - b) < 1e-6


def test_figures_match_an_independent_computation_over_a_multi_day_period(analyst, org, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 5
    p1, p2 = PlatformFactory(name="星辰卡盟"), PlatformFactory(name="极速卡盟")
    populate(p1, n=60, seed=1)
    populate(p2, n=30, seed=2)
    stats_rebuild()
    response = analyst.get(URL, PERIOD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    for platform in (p1, p2):
        row, want = _row(body, platform), expected(platform, date(2025, 3, 1), date(2025, 3, 5))
        assert row["complaints"] == want["complaints"]
        assert row["closed"] == want["closed"]
        assert {k: v for k, v in row["by_status"].items() if v} == want["by_status"]
        assert row["resolution_rate"]["numerator"] == want["resolved"]
        assert row["resolution_rate"]["denominator"] == want["closed"]
        assert _close(row["resolution_rate"]["value"], round(want["resolved"] / want["closed"], 4))
        assert row["favourable_rate"]["numerator"] == want["favourable"]
        assert row["platform_response_rate"]["numerator"] == want["responded"]
        assert row["platform_response_rate"]["denominator"] == want["escalated"]
        assert row["platform_response_in_window_rate"]["numerator"] == want["in_window"]
        assert row["platform_response_minutes"]["count"] == want["response_count"]
        assert _close(row["platform_response_minutes"]["median"], round(want["response_median"], 2))
        assert _close(row["platform_response_minutes"]["p90"], round(want["response_p90"], 2))
        assert row["resolution_minutes"]["count"] == want["resolution_count"]
        assert _close(row["resolution_minutes"]["median"], round(want["resolution_median"], 2))
        assert _close(row["resolution_minutes"]["p90"], round(want["resolution_p90"], 2))
        assert row["amount_disputed"] == f"{want['amount_disputed']:.2f}"
        assert sum(m["complaints"] for m in row["top_merchants"]) <= row["complaints"]


def test_exact_percentiles_agree_with_postgresql_percentile_cont(analyst, populate, real_postgres, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    platform = PlatformFactory()
    populate(platform, n=80, days=40, seed=7)
    stats_rebuild()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m), percentile_cont(0.9) WITHIN GROUP (ORDER BY m) "
            "FROM (SELECT FLOOR(EXTRACT(EPOCH FROM closed_at - created_at) / 60) AS m FROM cases_case "
            "WHERE platform_id = %s AND status = 'resolved' "
            "AND (created_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN '2025-03-02' AND '2025-04-05') t",
            [platform.id],
        )
        median, p90 = cursor.fetchone()
    row = _row(analyst.get(URL, {"from": "2025-03-02", "to": "2025-04-05"}).json(), platform)
    assert _close(row["resolution_minutes"]["median"], round(median, 2))
    assert _close(row["resolution_minutes"]["p90"], round(p90, 2))


def test_trend_periods_add_up_and_months_have_exact_medians(analyst, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    platform = PlatformFactory()
    populate(platform, n=50, start=at(2025, 1, 20), days=40, seed=3)
    stats_rebuild()
    response = analyst.get(f"{URL}{platform.id}/trend/", {"from": "2025-01-01", "to": "2025-03-31",
                                                          "interval": "month"})
    assert response.status_code == 200, response.content
    series = response.json()["results"]
    assert [p["start"] for p in series] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert sum(p["complaints"] for p in series) == 50
    want = expected(platform, date(2025, 2, 1), date(2025, 2, 28))
    assert series[1]["complaints"] == want["complaints"]
    assert _close(series[1]["resolution_minutes"]["median"], round(want["resolution_median"], 2))
    assert _close(series[1]["platform_response_minutes"]["p90"], round(want["response_p90"], 2))
    weekly = analyst.get(f"{URL}{platform.id}/trend/", {"from": "2025-01-01", "to": "2025-03-31",
                                                        "interval": "week"}).json()["results"]
    assert sum(p["complaints"] for p in weekly) == 50
    assert all(date.fromisoformat(p["start"]).weekday() == 0 for p in weekly[1:])


def test_small_samples_are_withheld_with_a_reason(analyst, org, platform):
    for i in range(3):
        make_case(organization=org, platform=platform, created_at=at(2025, 3, 2, 10 + i), status="resolved",
                  outcome="favourable", closed_after=timedelta(days=2))
    stats_rebuild()
    row = _row(analyst.get(URL, PERIOD).json(), platform)
    assert row["complaints"] == 3
    assert row["resolution_rate"] == {"value": None, "numerator": 3, "denominator": 3,
                                      "withheld_reason": row["resolution_rate"]["withheld_reason"]}
    assert "10" in row["resolution_rate"]["withheld_reason"]
    assert row["resolution_minutes"]["median"] is None and row["resolution_minutes"]["count"] == 3
    assert row["consumer_rating"]["average"] is None


def test_min_sample_is_a_setting(analyst, org, platform, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 2
    for i in range(3):
        make_case(organization=org, platform=platform, created_at=at(2025, 3, 2, 10 + i), status="resolved",
                  outcome="favourable", closed_after=timedelta(minutes=30 * (i + 1)))
    stats_rebuild()
    row = _row(analyst.get(URL, PERIOD).json(), platform)
    assert row["resolution_rate"]["value"] == 1.0
    assert row["resolution_minutes"]["median"] == 60.0


def test_csv_has_a_bom_and_chinese_platform_names(analyst, org, populate):
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    stats_rebuild()
    for response in (analyst.get(URL, {**PERIOD, "format": "csv", "headers": "codes"}),
                     analyst.get(URL, {**PERIOD, "headers": "codes"}, HTTP_ACCEPT="text/csv")):
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        row = next(r for r in rows if r["platform.name"] == "星辰卡盟")
        assert int(row["complaints"]) == 12
        assert "resolution_rate.numerator" in row


def test_csv_has_every_dispute_type_of_any_platform(analyst, org):
    """The dispute types of the first platform (by name) are not the only columns: one only the second
    platform has gets its column too, 0 for the first (every dispute type is always a column)."""
    first, second = PlatformFactory(name="A卡盟"), PlatformFactory(name="B卡盟")
    make_case(organization=org, platform=first, created_at=at(2025, 3, 2), dispute_type="fraud")
    for _i in range(2):
        make_case(organization=org, platform=second, created_at=at(2025, 3, 3), dispute_type="delivery_delay")
    stats_rebuild()
    rows = list(csv.DictReader(io.StringIO(
        analyst.get(URL, {**PERIOD, "format": "csv", "headers": "codes"}).content.decode("utf-8-sig"))))
    by_name = {r["platform.name"]: r for r in rows}
    assert by_name["B卡盟"]["by_dispute_type.delivery_delay"] == "2"
    assert by_name["A卡盟"]["by_dispute_type.fraud"] == "1"
    assert by_name["A卡盟"]["by_dispute_type.delivery_delay"] == "0"  # every type is a column, 0 where none
    assert by_name["B卡盟"]["resolution_rate.withheld_reason"]  # withheld: 0 closed cases


def test_csv_errors_are_in_the_documented_json_error_format(analyst):
    response = analyst.get(URL, {"from": "nope", "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["attr"] == "from"


def test_analyst_sees_no_personal_data(analyst, org, populate):
    platform = PlatformFactory()
    cases = populate(platform, n=15)
    stats_rebuild()
    texts = [analyst.get(URL, PERIOD).content.decode(),
             analyst.get(URL, {**PERIOD, "format": "csv"}).content.decode("utf-8-sig"),
             analyst.get(f"{URL}{platform.id}/trend/", PERIOD).content.decode()]
    for case in cases:
        for secret in (case.consumer.name, case.consumer.phone, case.consumer.id_number, case.order_number,
                       case.reference):
            assert all(secret not in text for text in texts), secret


def test_organization_scope_counts_only_own_cases_and_national_counts_all(analyst, org, other_org, platform,
                                                                          settings):
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2))
    make_case(organization=other_org, platform=platform, created_at=at(2025, 3, 2))
    make_case(organization=other_org, platform=platform, created_at=at(2025, 3, 3))
    stats_rebuild()
    assert _row(analyst.get(URL, PERIOD).json(), platform)["complaints"] == 1
    settings.KAMENG_STATS_SCOPE = "national"
    assert _row(analyst.get(URL, PERIOD).json(), platform)["complaints"] == 3


def test_filters_by_product_and_dispute_type(analyst, org, platform):
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2), product_type="game_card")
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2), product_type="membership",
              dispute_type="fraud")
    stats_rebuild()
    assert _row(analyst.get(URL, {**PERIOD, "product_type": "membership"}).json(), platform)["complaints"] == 1
    assert _row(analyst.get(URL, {**PERIOD, "dispute_type": "fraud"}).json(), platform)["complaints"] == 1
    assert _row(analyst.get(URL, {**PERIOD, "dispute_type": "data_leak"}).json(), platform)["complaints"] == 0
    assert _row(analyst.get(URL, {"from": "2025-03-03", "to": "2025-03-03"}).json(), platform)["complaints"] == 0


@pytest.mark.parametrize("params, attr", [
    ({"from": "2025-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": "2025-03-05", "to": "2025-03-01"}, "from"),
    ({"from": "1990-01-01", "to": "2025-01-01"}, "from"),
    ({"product_type": "spaceship"}, "product_type"),
    ({"dispute_type": "boredom"}, "dispute_type"),
])
def test_bad_filters_are_400(analyst, platform, params, attr):
    assert_error(analyst.get(URL, params), 400, attr=attr)
    assert_error(analyst.get(f"{URL}{platform.id}/trend/", params), 400, attr=attr)


def test_bad_interval_is_400_and_unknown_platform_404(analyst, platform):
    assert_error(analyst.get(f"{URL}{platform.id}/trend/", {"interval": "fortnight"}), 400, attr="interval")
    assert_error(analyst.get(f"{URL}999999999999999999/trend/"), 404)
    assert analyst.get(f"{URL}99999999999999999999999/trend/").status_code == 404


@pytest.mark.parametrize("role, status", [
    (Role.ANALYST, 200), (Role.SUPERVISOR, 200), (Role.INTAKE, 403), (Role.HANDLER, 403),
])
def test_role_matrix(user_client, platform, role, status):
    client = user_client(role)
    assert client.get(URL).status_code == status
    assert client.get(f"{URL}{platform.id}/trend/").status_code == status


def test_anonymous_is_401(anon, platform):
    assert_error(anon.get(URL), 401)
    assert_error(anon.get(f"{URL}{platform.id}/trend/"), 401)


def test_partner_needs_can_read_stats(partner, org, platform, anon):
    assert_error(partner.get(URL), 403)
    _key, raw = api_key_create(organization=org, name="Stats app", can_read_stats=True)
    anon.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert anon.get(URL).status_code == 200
    assert anon.get(f"{URL}{platform.id}/trend/").status_code == 200


def test_list_is_paginated_and_costs_a_fixed_number_of_queries(analyst, org, django_assert_max_num_queries):
    for i in range(30):
        make_case(organization=org, platform=PlatformFactory(name=f"平台{i:02d}"), created_at=at(2025, 3, 2))
    stats_rebuild()
    with django_assert_max_num_queries(8):
        body = analyst.get(URL, {**PERIOD, "page_size": 10}).json()
    assert body["count"] == 30 and len(body["results"]) == 10 and body["next"]
    assert DailyStat.objects.exists() and not DurationBucket.objects.exists()


@pytest.mark.parametrize("date_from, date_to", [
    (date(2025, 1, 25), date(2025, 2, 28)),  # edge days + a whole month
    (date(2025, 1, 1), date(2025, 3, 31)),  # whole months only
    (date(2025, 1, 22), date(2025, 3, 3)),  # edges on both sides
    (date(2025, 2, 3), date(2025, 2, 20)),  # inside one month
])
def test_whole_months_and_edge_days_give_the_same_exact_figures(analyst, populate, settings, date_from, date_to):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    platform = PlatformFactory()
    cases = populate(platform, n=70, start=at(2025, 1, 20), days=45, seed=9)
    stats_rebuild()
    row = _row(analyst.get(URL, {"from": date_from.isoformat(), "to": date_to.isoformat()}).json(), platform)
    want = expected(platform, date_from, date_to)
    assert row["complaints"] == want["complaints"]
    assert sum(row["by_dispute_type"].values()) == want["complaints"]
    assert {k: v for k, v in row["by_status"].items() if v} == want["by_status"]
    assert row["platform_response_rate"]["numerator"] == want["responded"]
    assert _close(row["resolution_minutes"]["median"], want["resolution_median"] and round(want["resolution_median"], 2))
    assert _close(row["resolution_minutes"]["p90"], want["resolution_p90"] and round(want["resolution_p90"], 2))
    assert _close(row["platform_response_minutes"]["median"],
                  want["response_median"] and round(want["response_median"], 2))
    in_period = [c for c in cases if c.merchant_id and date_from <= c.created_at.astimezone(at(2025, 1, 1).tzinfo).date() <= date_to]
    assert sum(m["complaints"] for m in row["top_merchants"]) == len(in_period)


@pytest.mark.parametrize("scope", ["organization", "national"])
def test_standard_periods_read_precomputed_rows_with_the_same_figures(analyst, org, other_org, populate, settings,
                                                                        django_assert_max_num_queries, scope):
    """A calendar year is read from the period tables; it must equal the general path (daily and monthly
    tables) and the independent computation."""
    from stats.models import StatsPeriod

    settings.KAMENG_STATS_MIN_SAMPLE = 1
    settings.KAMENG_STATS_SCOPE = scope
    platform = PlatformFactory()
    populate(platform, n=60, start=at(2025, 12, 10), days=40, seed=31)
    populate(platform, n=15, start=at(2025, 12, 20), days=10, seed=32, organization=other_org)
    stats_rebuild()
    year = {"from": "2025-01-01", "to": "2025-12-31"}
    assert StatsPeriod.objects.filter(first_day=date(2025, 1, 1), last_day=date(2025, 12, 31)).exists()
    with django_assert_max_num_queries(10):
        fast = _row(analyst.get(URL, year).json(), platform)
    StatsPeriod.objects.all().delete()  # the same request through the general path
    general = _row(analyst.get(URL, year).json(), platform)
    assert fast == general
    want = expected(platform, date(2025, 1, 1), date(2025, 12, 31),
                    organization=None if scope == "national" else org)
    assert fast["complaints"] == want["complaints"] > 0
    assert _close(fast["resolution_minutes"]["p90"], want["resolution_p90"] and round(want["resolution_p90"], 2))
    assert _close(fast["platform_response_minutes"]["median"],
                  want["response_median"] and round(want["response_median"], 2))


def test_monthly_trend_reads_whole_months_from_rollups_and_edges_from_days(analyst, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 1
    platform = PlatformFactory()
    populate(platform, n=60, start=at(2025, 1, 20), days=45, seed=13)
    stats_rebuild()
    series = analyst.get(f"{URL}{platform.id}/trend/", {"from": "2025-01-25", "to": "2025-03-02",
                                                        "interval": "month"}).json()["results"]
    assert [(p["start"], p["end"]) for p in series] == [
        ("2025-01-25", "2025-01-31"), ("2025-02-01", "2025-02-28"), ("2025-03-01", "2025-03-02")]
    for point in series:
        want = expected(platform, date.fromisoformat(point["start"]), date.fromisoformat(point["end"]))
        assert point["complaints"] == want["complaints"] == sum(point["by_dispute_type"].values())
        assert {k: v for k, v in point["by_status"].items() if v} == want["by_status"]
        assert _close(point["resolution_minutes"]["median"],
                      want["resolution_median"] and round(want["resolution_median"], 2))
        assert _close(point["platform_response_minutes"]["p90"], want["response_p90"] and round(want["response_p90"], 2))


def test_platform_stats_page_by_cursor_too(analyst, org):
    """The keyset paging of every list (`?cursor=`) works on the per-platform figures as well."""
    for name in ("A卡盟", "B卡盟", "C卡盟"):
        make_case(organization=org, platform=PlatformFactory(name=name), created_at=at(2025, 3, 2))
    stats_rebuild()
    first = analyst.get(URL, {**PERIOD, "cursor": "", "page_size": 2})
    assert first.status_code == 200, first.content
    names = [r["platform"]["name"] for r in first.json()["results"]]
    second = analyst.get(first.json()["next"])
    assert second.status_code == 200, second.content
    names += [r["platform"]["name"] for r in second.json()["results"]]
    assert [n for n in names if n.endswith("卡盟")] == ["A卡盟", "B卡盟", "C卡盟"]
