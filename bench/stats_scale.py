"""Statistics at scale: load N cases (default 1,000,000) over 500 platforms and 2 years into a
PostgreSQL database of its own (dropped and recreated each run), then print

- the time of the full rebuild of the summary tables,
- the time of an incremental refresh after 1,000 new cases,
- p50/p95 latency of GET /api/v1/stats/platforms/ for a year (Django test client, an analyst),
- the same figures by a plain GROUP BY over the cases table, and the ratio.

    python bench/stats_scale.py [--cases 1000000] [--platforms 500] [--requests 60] [--reuse]
        [--database-url postgres://postgres@127.0.0.1:5432/kameng_bench]

--reuse keeps a database that already holds at least --cases cases (from an earlier run) instead of
dropping and reloading it (the load takes minutes); the summary tables are rebuilt either way.

Prints figures, never asserts.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def existing_cases(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM cases_case").fetchone()[0]
    except psycopg.Error:
        return 0


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


LOAD_SQL = [
    """INSERT INTO cases_organization (slug, name, created_at)
       SELECT 'bench-' || i, '消费者协会 ' || i, now() FROM generate_series(1, 3) i""",
    """INSERT INTO cases_platform (name, domains, company_name, credit_code, icp_number, has_deposit_scheme,
           complaint_window_hours, complaint_window_from, response_working_days, cross_border, created_at, updated_at)
       SELECT '卡盟平台' || lpad(i::text, 4, '0'), '[]', '某某网络科技有限公司', '', '', false, 72, 'delivery', 3,
              false, now(), now()
       FROM generate_series(1, %(platforms)s) i""",
    """INSERT INTO cases_merchant (platform_id, name, shop_url, unreachable, created_at)
       SELECT p.id, '店铺' || m, '', false, now() FROM cases_platform p, generate_series(1, 5) m""",
    """INSERT INTO cases_consumer (organization_id, name, phone, id_number, payment_account)
       SELECT o.id, '消费者' || i, '138' || lpad(i::text, 8, '0'), '', ''
       FROM cases_organization o, generate_series(1, 3000) i""",
    """CREATE TEMP TABLE ids AS SELECT
           (SELECT array_agg(id ORDER BY id) FROM cases_organization) AS orgs,
           (SELECT array_agg(id ORDER BY id) FROM cases_platform) AS platforms,
           (SELECT min(id) FROM cases_merchant) AS merchant0,
           (SELECT min(id) FROM cases_consumer) AS consumer0""",
    # Cases: a few large platforms and a long tail (skewed by the square of a uniform draw).
    """INSERT INTO cases_case (organization_id, reference, platform_id, merchant_id, order_number, product_type,
           amount_paid, payment_channel, purchased_at, problem_found_at, dispute_type, description,
           merchant_promise, fraud_suspected, consumer_id, status, waiting_on_consumer, outcome, amount_recovered,
           resolution, consumer_rating, closed_at, version, created_at, updated_at)
       SELECT ids.orgs[1 + (g.i %% 3)], 'B-' || g.i, ids.platforms[1 + pidx], ids.merchant0 + pidx * 5 + (g.i %% 5),
              'ORD' || g.i, (ARRAY['game_card','phone_recharge','activation_key','game_account','virtual_currency',
              'membership','other'])[1 + (g.i %% 7)], round((10 + r1 * 990)::numeric, 2), 'alipay',
              created - interval '2 days', created - interval '1 day',
              (ARRAY['invalid_code','not_as_described','missing_function','delivery_delay','fake_delivery',
              'refund_refused','account_recovered','account_banned','account_mismatch','account_theft','data_leak',
              'merchant_unreachable','platform_shirking','unfair_terms','platform_absconded','fraud'])[1 + (g.i %% 16)],
              '', '', false, ids.consumer0 + (g.i %% 9000), status, false,
              CASE WHEN status = 'resolved' THEN (ARRAY['favourable','partial','unfavourable'])[1 + (g.i %% 3)] ELSE '' END,
              CASE WHEN status = 'resolved' THEN round((r1 * 500)::numeric, 2) END, '',
              CASE WHEN status = 'resolved' THEN 1 + (g.i %% 5) END,
              CASE WHEN status IN ('resolved','rejected','withdrawn')
                   THEN created + (interval '1 hour' + r2 * interval '30 days') END,
              1, created, created
       FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                    now() - random() * interval '730 days' AS created
             FROM generate_series(1, %(cases)s) i) g
       CROSS JOIN ids
       CROSS JOIN LATERAL (SELECT least(%(platforms)s - 1, floor(g.r3 * g.r3 * %(platforms)s))::int AS pidx,
              (ARRAY['intake','collecting_evidence','negotiating','platform_review','third_party','legal',
               'resolved','resolved','resolved','rejected','withdrawn'])[1 + floor(g.r4 * 11)::int] AS status) x""",
    """INSERT INTO escalation_escalation (case_id, channel, level, submitted_at, external_reference, skip_reason,
           skip_note, due_at, response, responded_at, outcome, created_at, updated_at)
       SELECT id, 'platform', 2, created_at + interval '1 day', '', '', '', created_at + interval '4 days', '',
              CASE WHEN random() < 0.7 THEN created_at + interval '1 day' + random() * interval '6 days' END,
              'pending', created_at, created_at
       FROM cases_case WHERE id %% 10 < 3""",
    """INSERT INTO escalation_escalation (case_id, channel, level, submitted_at, external_reference, skip_reason,
           skip_note, due_at, response, responded_at, outcome, created_at, updated_at)
       SELECT id, '12315', 3, created_at + interval '8 days', '', '', '', NULL, '', NULL, 'pending',
              created_at, created_at
       FROM cases_case WHERE id %% 20 = 1""",
]

NEW_CASES_SQL = """
INSERT INTO cases_case (organization_id, reference, platform_id, merchant_id, order_number, product_type,
    amount_paid, payment_channel, purchased_at, problem_found_at, dispute_type, description, merchant_promise,
    fraud_suspected, consumer_id, status, waiting_on_consumer, outcome, resolution, version, created_at, updated_at)
SELECT ids.orgs[1 + (i %% 3)], 'N' || %(run)s || '-' || i, ids.platforms[1 + (i %% array_length(ids.platforms, 1))],
       NULL, 'NEW' || %(run)s || '-' || i, 'game_card', 50, 'alipay', now() - interval '2 days', now() - interval '1 day', 'invalid_code',
       '', '', false, ids.consumer0 + (i %% 9000), 'intake', false, '', '', 1,
       now() - random() * interval '3 days', now()
FROM generate_series(1, %(n)s) i CROSS JOIN ids
"""

# What the summary tables replace: every figure straight from cases and escalations.
def baseline_sql(platform_filter: str) -> str:
    return f"""
SELECT c.platform_id, COUNT(*),
    COUNT(*) FILTER (WHERE c.status = 'resolved'),
    COUNT(*) FILTER (WHERE c.status IN ('resolved','rejected','withdrawn')),
    COUNT(*) FILTER (WHERE c.outcome = 'favourable'),
    SUM(c.amount_paid), SUM(c.amount_recovered), AVG(c.consumer_rating), MAX(x.max_level),
    COUNT(*) FILTER (WHERE x.p_esc), COUNT(*) FILTER (WHERE x.p_min IS NOT NULL),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY x.p_min), percentile_cont(0.9) WITHIN GROUP (ORDER BY x.p_min),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY FLOOR(EXTRACT(EPOCH FROM c.closed_at - c.created_at) / 60))
        FILTER (WHERE c.status = 'resolved'),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY FLOOR(EXTRACT(EPOCH FROM c.closed_at - c.created_at) / 60))
        FILTER (WHERE c.status = 'resolved')
FROM cases_case c
LEFT JOIN (SELECT case_id, MAX(level) AS max_level, bool_or(channel = 'platform') AS p_esc,
                  MIN(FLOOR(EXTRACT(EPOCH FROM responded_at - submitted_at) / 60))
                      FILTER (WHERE channel = 'platform') AS p_min
           FROM escalation_escalation GROUP BY case_id) x ON x.case_id = c.id
WHERE c.organization_id = %(org)s AND c.created_at >= %(start)s AND c.created_at < %(end)s {platform_filter}
GROUP BY c.platform_id
"""  # noqa: S608 - the filter is a constant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--platforms", type=int, default=500)
    parser.add_argument("--new-cases", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--verbose", action="store_true", help="time each SQL statement of the refresh")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kameng_bench"))
    args = parser.parse_args()

    reuse = args.reuse and existing_cases(args.database_url) >= args.cases
    if not reuse:
        recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.test")
    import django

    django.setup()
    from datetime import datetime, timedelta
    from datetime import time as dtime

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from cases.codes import Role
    from cases.models import Organization, Platform, User
    from stats.services import stats_rebuild, stats_refresh

    call_command("migrate", verbosity=0)
    if args.verbose:  # each statement of the rebuild and the refreshes with its duration
        import logging

        logging.basicConfig(level=logging.WARNING, format="    %(message)s")
        logging.getLogger("stats.services").setLevel(logging.DEBUG)
    print(f"cases={args.cases:,} platforms={args.platforms} database={urlparse(args.database_url).path[1:]}")
    params = {"cases": args.cases, "platforms": args.platforms}
    start = time.perf_counter()
    with connection.cursor() as cursor:
        if not reuse:
            for sql in LOAD_SQL:
                cursor.execute(sql, params)
        cursor.execute("SELECT count(*) FROM escalation_escalation")
        escalations = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM cases_case")
        cases = cursor.fetchone()[0]
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    how = "reused" if reuse else "load (SQL generate_series)"
    print(f"{how}: {time.perf_counter() - start:.1f} s, {cases:,} cases, {escalations:,} escalations")

    seconds, result = timed(stats_rebuild)
    print(f"full rebuild: {seconds:.2f} s ({result['cases']:,} cases)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM stats_dailystat), (SELECT count(*) FROM stats_durationbucket), "
                       "(SELECT count(*) FROM stats_monthstat), (SELECT count(*) FROM stats_periodstat), "
                       "(SELECT count(*) FROM stats_statsperiod)")
        daily, buckets, monthly, period_rows, periods = cursor.fetchone()
    print(f"summary rows: {daily:,} daily, {buckets:,} duration buckets, {monthly:,} monthly, "
          f"{period_rows:,} in {periods} standard periods")

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS ids AS SELECT "
                       "(SELECT array_agg(id ORDER BY id) FROM cases_organization) AS orgs, "
                       "(SELECT array_agg(id ORDER BY id) FROM cases_platform) AS platforms, "
                       "(SELECT min(id) FROM cases_consumer) AS consumer0")
        run = str(int(time.time()))
        cursor.execute(NEW_CASES_SQL, {"n": args.new_cases, "run": run})
    seconds, result = timed(stats_refresh)
    print(f"incremental refresh after {args.new_cases:,} new cases: {seconds:.2f} s ({result})  [target < 2 s]")
    seconds, result = timed(stats_refresh)
    print(f"incremental refresh with nothing new: {seconds:.3f} s ({result})")
    # Harder than new cases: 1,000 existing cases of the last year resolved at once, so exact
    # percentiles (not additive) of their platforms' standard periods are recomputed.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_case SET status = 'resolved', outcome = 'favourable', "
                       "closed_at = created_at + interval '3 days', updated_at = now() WHERE id IN ("
                       "SELECT id FROM cases_case WHERE status = 'negotiating' AND created_at > now() - interval "
                       "'300 days' ORDER BY id LIMIT %(n)s)", {"n": args.new_cases})
    seconds, result = timed(stats_refresh)
    print(f"incremental refresh after {args.new_cases:,} cases resolved: {seconds:.2f} s ({result})")
    # The first refresh after midnight computes the new rolling year (simulated by moving it back a day).
    from stats.models import StatsPeriod

    rolling = StatsPeriod.objects.get(rolling=True)
    StatsPeriod.objects.filter(pk=rolling.pk).update(first_day=rolling.first_day - timedelta(days=1),
                                                     last_day=rolling.last_day - timedelta(days=1))
    seconds, result = timed(stats_refresh)
    print(f"first refresh after midnight (computes the new rolling year): {seconds:.2f} s ({result})")

    org = Organization.objects.order_by("id").first()
    analyst, _created = User.objects.get_or_create(username="bench-analyst",
                                                   defaults={"organization": org, "role": Role.ANALYST})
    client = APIClient()
    client.force_authenticate(analyst)
    today = timezone.localdate()
    year = {"from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat()}
    pages = max(1, -(-args.platforms // 25))

    def latencies(query: dict, n: int, paged=True):
        out = []
        for i in range(n + 3):
            q = {**query, "page": 1 + i % pages} if paged else query
            t, response = timed(client.get, "/api/v1/stats/platforms/", q)
            assert response.status_code == 200, response.content[:300]
            if i >= 3:
                out.append(t * 1000)
        return out

    api = latencies(year, args.requests)
    calendar = latencies({"from": f"{today.year - 1}-01-01", "to": f"{today.year - 1}-12-31"}, args.requests // 2)
    odd = latencies({"from": (today - timedelta(days=300)).isoformat(), "to": (today - timedelta(days=10)).isoformat()},
                    args.requests // 2)
    filtered = latencies({**year, "product_type": "membership"}, args.requests // 2)
    csv_all = latencies({**year, "format": "csv"}, max(3, args.requests // 10), paged=False)
    print(f"GET stats/platforms/ (a year, page of 25): p50 {pct(api, 50):.1f} ms, p95 {pct(api, 95):.1f} ms"
          "  [target p95 < 50 ms]")
    print(f"  calendar year {today.year - 1}: p50 {pct(calendar, 50):.1f} ms, p95 {pct(calendar, 95):.1f} ms")
    print(f"  a non-standard range of 291 days (general path): p50 {pct(odd, 50):.1f} ms, "
          f"p95 {pct(odd, 95):.1f} ms")
    print(f"  with ?product_type=membership: p50 {pct(filtered, 50):.1f} ms, p95 {pct(filtered, 95):.1f} ms")
    print(f"  ?format=csv (all {args.platforms} platforms): p50 {pct(csv_all, 50):.1f} ms, "
          f"p95 {pct(csv_all, 95):.1f} ms")

    tz = timezone.get_default_timezone()
    sql_params = {"org": org.id, "start": datetime.combine(today - timedelta(days=364), dtime.min, tzinfo=tz),
                  "end": datetime.combine(today + timedelta(days=1), dtime.min, tzinfo=tz)}
    first_page = list(Platform.objects.order_by("name", "id").values_list("id", flat=True)[:25])

    def baseline(sql, extra=None):
        out = []
        with connection.cursor() as cursor:
            for _ in range(args.baseline_runs):
                t0 = time.perf_counter()
                cursor.execute(sql, {**sql_params, **(extra or {})})
                cursor.fetchall()
                out.append((time.perf_counter() - t0) * 1000)
        return out

    full = baseline(baseline_sql(""))
    page = baseline(baseline_sql("AND c.platform_id = ANY(%(ids)s)"), {"ids": first_page})
    print(f"plain GROUP BY over cases (a year, all platforms): p50 {pct(full, 50):.0f} ms, p95 {pct(full, 95):.0f} ms")
    print(f"plain GROUP BY over cases (a year, the 25 platforms of page 1): p50 {pct(page, 50):.0f} ms, "
          f"p95 {pct(page, 95):.0f} ms")
    print(f"ratio, endpoint page vs all-platform GROUP BY: {pct(full, 50) / pct(api, 50):.0f}x at p50, "
          f"{pct(full, 95) / pct(api, 95):.0f}x at p95  [target >= 20x]")
    print(f"ratio, endpoint page vs same-25-platform GROUP BY: {pct(page, 50) / pct(api, 50):.1f}x at p50")
    print(f"ratio, CSV of all platforms vs all-platform GROUP BY: {pct(full, 50) / pct(csv_all, 50):.1f}x at p50")


if __name__ == "__main__":
    main()
