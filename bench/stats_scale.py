"""Statistics at scale: load N cases (default 1,000,000) over 500 platforms and 2 years into a
PostgreSQL database of its own (dropped and recreated each run unless --reuse), then print

- the time of the full rebuild of the summary tables and of incremental refreshes,
- p50/p95 of GET /api/v1/stats/platforms/ over HTTP — a real gunicorn server with the production
  settings (persistent database connections), a client in this process, an analyst's token — for the
  default period, a calendar year, 365 days ending last month, a quarter, a custom period, a product-type
  filter and the CSV of every platform (and the default question again with CONN_MAX_AGE=0),
- the same questions answered by SQL over the raw cases and escalations (the same page of platforms and
  period; all platforms for the CSV), the ratios, and whether both give the same figures.

    python bench/stats_scale.py [--cases 1000000] [--platforms 500] [--requests 60] [--reuse]
        [--port 8601] [--database-url postgres://postgres@127.0.0.1:5432/kameng_bench]

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


def lenient_defaults(cursor) -> None:
    """Columns added since this loader was written (NOT NULL text and flags the SQL below does not name)
    default to '' and false in this benchmark's own database, so the load keeps working as models grow."""
    cursor.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name IN ('cases_organization', 'cases_platform', 'cases_merchant', 'cases_consumer', "
        "'cases_case', 'escalation_escalation') AND is_nullable = 'NO' AND column_default IS NULL "
        "AND data_type IN ('text', 'character varying', 'boolean', 'jsonb')")
    for table, column, data_type in cursor.fetchall():
        default = {"boolean": "false", "jsonb": "'{}'::jsonb"}.get(data_type, "''")
        cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {default}')


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
       SELECT o.id, '', '', '', ''  -- statistics read no personal data (stored encrypted, see README)
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

# The same question the endpoint answers, straight from the raw cases and escalations: every figure of
# the platforms asked for (counts per status and dispute type, outcomes, rates, exact percentiles, amounts,
# levels reached, rating, top merchants with names), by the definitions of README "Statistics".
BASELINE_SQL = """
WITH scope AS (
    SELECT c.id, c.platform_id, c.merchant_id, c.status, c.dispute_type, c.outcome, c.amount_paid,
        c.amount_recovered, c.consumer_rating, c.created_at, c.closed_at
    FROM cases_case c
    WHERE c.organization_id = %(org)s AND c.created_at >= %(start)s AND c.created_at < %(end)s {platforms}
), x AS (
    SELECT e.case_id, MAX(e.level) AS max_level, bool_or(e.channel = 'platform') AS p_esc,
        bool_or(e.channel = 'platform' AND e.responded_at IS NOT NULL AND e.outcome <> 'no_response') AS p_resp,
        bool_or(e.channel = 'platform' AND e.responded_at IS NOT NULL AND e.outcome <> 'no_response'
                AND (e.due_at IS NULL OR e.responded_at <= e.due_at)) AS p_win,
        MIN(FLOOR(EXTRACT(EPOCH FROM e.responded_at - e.submitted_at) / 60)) FILTER (
            WHERE e.channel = 'platform' AND e.outcome <> 'no_response' AND e.responded_at >= e.submitted_at) AS p_min
    FROM escalation_escalation e JOIN scope c ON c.id = e.case_id GROUP BY e.case_id
), f AS MATERIALIZED (
    SELECT c.platform_id, c.merchant_id, c.status, c.dispute_type, c.outcome, c.amount_paid, c.amount_recovered,
        c.consumer_rating, x.p_esc, x.p_resp, x.p_win, x.p_min,
        CASE WHEN c.status = 'resolved' AND c.closed_at >= c.created_at
             THEN FLOOR(EXTRACT(EPOCH FROM c.closed_at - c.created_at) / 60) END AS r_min,
        GREATEST(CASE c.status WHEN 'negotiating' THEN 1 WHEN 'platform_review' THEN 2 WHEN 'third_party' THEN 3
                 WHEN 'legal' THEN 4 ELSE 0 END, COALESCE(x.max_level, 0)) AS lvl
    FROM scope c LEFT JOIN x ON x.case_id = c.id
)
SELECT 0, platform_id, NULL, ARRAY[COUNT(*),
    {statuses},
    COUNT(*) FILTER (WHERE outcome = 'favourable'), COUNT(*) FILTER (WHERE outcome = 'partial'),
    COUNT(*) FILTER (WHERE outcome = 'unfavourable'),
    SUM(amount_paid), COALESCE(SUM(amount_recovered), 0), COALESCE(SUM(consumer_rating), 0), COUNT(consumer_rating),
    COUNT(*) FILTER (WHERE lvl = 1), COUNT(*) FILTER (WHERE lvl = 2), COUNT(*) FILTER (WHERE lvl = 3),
    COUNT(*) FILTER (WHERE lvl = 4),
    COUNT(*) FILTER (WHERE p_esc), COUNT(*) FILTER (WHERE p_resp), COUNT(*) FILTER (WHERE p_win),
    COUNT(p_min), percentile_cont(0.5) WITHIN GROUP (ORDER BY p_min), percentile_cont(0.9) WITHIN GROUP (ORDER BY p_min),
    COUNT(r_min), percentile_cont(0.5) WITHIN GROUP (ORDER BY r_min), percentile_cont(0.9) WITHIN GROUP (ORDER BY r_min)
    ]::float8[]
FROM f GROUP BY platform_id
UNION ALL SELECT 1, platform_id, dispute_type, ARRAY[COUNT(*)]::float8[] FROM f GROUP BY platform_id, dispute_type
UNION ALL SELECT 2, platform_id, merchant_id::text, ARRAY[COUNT(*)]::float8[] FROM f WHERE merchant_id IS NOT NULL
    GROUP BY platform_id, merchant_id
"""  # noqa: S608 - built from constants


def baseline_answer(cursor, params: dict, platform_ids: list[int] | None) -> dict:
    """Run the raw-row question and build what the endpoint returns for it (top merchants named)."""
    from cases.codes import Status

    statuses = ", ".join(f"COUNT(*) FILTER (WHERE status = '{s}')" for s in Status.values)
    platforms = "AND c.platform_id = ANY(%(ids)s)" if platform_ids is not None else ""
    cursor.execute(BASELINE_SQL.format(statuses=statuses, platforms=platforms), {**params, "ids": platform_ids})
    figures, merchants = {}, {}
    for kind, platform_id, key, values in cursor.fetchall():
        if kind == 0:
            figures[platform_id] = {"values": values, "disputes": {}}
        elif kind == 1:
            figures.setdefault(platform_id, {"values": None, "disputes": {}})["disputes"][key] = int(values[0])
        else:
            merchants.setdefault(platform_id, []).append((-int(values[0]), int(key)))
    top = {pid: sorted(rows)[:5] for pid, rows in merchants.items()}
    ids = sorted({m for rows in top.values() for _n, m in rows})
    cursor.execute("SELECT id, name FROM cases_merchant WHERE id = ANY(%(ids)s)", {"ids": ids})
    names = dict(cursor.fetchall())
    for pid, rows in top.items():
        figures[pid]["top_merchants"] = [(names.get(m), -n) for n, m in rows]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--platforms", type=int, default=500)
    parser.add_argument("--new-cases", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--http-only", action="store_true",
                        help="skip the rebuild and refresh figures (summaries already built by an earlier run)")
    parser.add_argument("--verbose", action="store_true", help="time each SQL statement of the refresh")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8601")))
    parser.add_argument("--workers", type=int, default=2)
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
    from datetime import date, datetime, timedelta
    from datetime import time as dtime

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cases.models import Organization, Platform, User
    from kameng_api.core.roles import Role
    from kameng_api.core.tokens import token_issue
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
        lenient_defaults(cursor)
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

    if not args.http_only:
        refresh_figures(args, connection, stats_rebuild, stats_refresh)
    org = Organization.objects.order_by("id").first()
    analyst, _created = User.objects.get_or_create(username="bench-analyst",
                                                   defaults={"organization": org, "role": Role.ANALYST})
    token = token_issue(user=analyst)[1]
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    quarter = (today.month - 1) // 3 * 3 + 1
    quarter_end = date(today.year, quarter, 1) - timedelta(days=1)
    quarter_start = date(quarter_end.year, quarter_end.month - 2, 1)
    questions = [
        ("the last 365 days (default; precomputed)", today - timedelta(days=364), today),
        (f"calendar year {today.year - 1} (precomputed)", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        ("365 days ending last month", last_month_end - timedelta(days=364), last_month_end),
        (f"the quarter {quarter_start} – {quarter_end}", quarter_start, quarter_end),
        ("a custom period of 291 days", today - timedelta(days=300), today - timedelta(days=10)),
    ]
    pages = max(1, -(-args.platforms // 25))
    page_ids = list(Platform.objects.order_by("name", "id").values_list("id", flat=True))
    connection.close()

    print("\nHTTP (\"CPU/request\": CPU time of the gunicorn workers and of their database backends per "
          "request, which unlike latency does not grow when other jobs share the cores):")
    print(f"gunicorn ({args.workers} sync workers, production settings, CONN_MAX_AGE=600 with health "
          f"checks) on 127.0.0.1:{args.port}; a client in another process, a new TCP connection per request, "
          f"{args.requests} requests per line, pages 1–{pages} in turn")
    endpoint, endpoint_cpu = {}, {}
    with gunicorn(args, conn_max_age=600):
        for label, first, last in questions:
            lat, _body = http_latencies(args.port, token, {"from": first, "to": last}, args.requests, pages)
            endpoint[label] = lat
            endpoint_cpu[label] = CPU["server"] + CPU["database"]
            print(f"  {label:<48} p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  [target p95 < 50 ms]  "
                  f"{cpu_line()}")
        default_first, default_last = questions[0][1], questions[0][2]
        filtered = [  # composed from the filtered summaries (per product type, dispute type, both)
            ("the last 365 days, ?product_type=membership", questions[0], {"product_type": "membership"}),
            ("365 days ending last month, ?dispute_type=fraud", questions[2], {"dispute_type": "fraud"}),
            ("291 days, game_card + delivery_delay", questions[4],
             {"product_type": "game_card", "dispute_type": "delivery_delay"}),
            (f"calendar year {today.year - 1}, ?dispute_type=invalid_code", questions[1],
             {"dispute_type": "invalid_code"}),
            ("the quarter, ?product_type=game_card", questions[3], {"product_type": "game_card"}),
            ("the quarter, phone_recharge + refund_refused", questions[3],
             {"product_type": "phone_recharge", "dispute_type": "refund_refused"}),
        ]
        for label, (_l, first, last), extra in filtered:
            lat, _body = http_latencies(args.port, token, {"from": first, "to": last, **extra},
                                        args.requests // 2, pages)
            print(f"  {label:<48} p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  [target p95 < 50 ms]  "
                  f"{cpu_line()}")
        csv_lat, _body = http_latencies(args.port, token, {"from": default_first, "to": default_last, "format": "csv"},
                                        max(5, args.requests // 6), 0)
        print(f"  {'CSV, all ' + str(args.platforms) + ' platforms, the last 365 days':<48} p50 "
              f"{pct(csv_lat, 50):6.1f} ms  p95 {pct(csv_lat, 95):6.1f} ms  {cpu_line()}")
        endpoint_cpu["csv"] = CPU["server"] + CPU["database"]
        odd_label, odd_first, odd_last = questions[2]
        _lat, odd_page1 = http_latencies(args.port, token, {"from": odd_first, "to": odd_last}, 1, 1)
    with gunicorn(args, conn_max_age=0):
        lat, _body = http_latencies(args.port, token, {"from": default_first, "to": default_last},
                                    args.requests // 2, pages)
        print(f"  {'(same default question, CONN_MAX_AGE=0)':<48} p50 {pct(lat, 50):6.1f} ms  "
              f"p95 {pct(lat, 95):6.1f} ms  (a new database connection per request; server CPU "
              f"{CPU['server']:.1f} ms/request)")

    print(f"Answers kept between refreshes (stats/answers.py, the production default): each page or file asked "
          f"once first (computed and kept), then {args.requests} requests timed:")
    kept = {}
    with gunicorn(args, conn_max_age=600, answers=True):
        for label, first, last, extra, n_pages in (
                (questions[0][0], default_first, default_last, {}, pages),
                (odd_label, odd_first, odd_last, {}, pages),
                ("csv", default_first, default_last, {"format": "csv"}, 0)):
            http_latencies(args.port, token, {"from": first, "to": last, **extra}, max(n_pages, 1), n_pages)
            lat, _body = http_latencies(args.port, token, {"from": first, "to": last, **extra}, args.requests,
                                        n_pages)
            kept[label] = lat
            name = f"CSV, all {args.platforms} platforms" if label == "csv" else label
            print(f"  {name + ', kept':<48} p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  {cpu_line()}")

    tz = timezone.get_default_timezone()

    def span(first, last):
        return {"org": org.id, "start": datetime.combine(first, dtime.min, tzinfo=tz),
                "end": datetime.combine(last + timedelta(days=1), dtime.min, tzinfo=tz)}

    raw_cpu = {}

    def raw(first, last, platform_ids_of, n):
        out = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
            cpu = _cpu_ms([backend])
            for i in range(n):
                t0 = time.perf_counter()
                answer = baseline_answer(cursor, span(first, last), platform_ids_of(i))
                out.append((time.perf_counter() - t0) * 1000)
            raw_cpu["database"] = (_cpu_ms([backend]) - cpu) / n
        return out, answer

    def page_of(i):
        return page_ids[(i % pages) * 25:(i % pages) * 25 + 25]

    with connection.cursor() as cursor:  # the row estimates of the CTEs would make PostgreSQL JIT-compile the
        cursor.execute("SET jit = off")  # query (2–3 s of the run); the fair baseline runs without it
    raw(default_first, default_last, page_of, 1)  # warm the cache as the server's first requests did
    print(f"\nThe same questions by SQL over the raw cases and escalations (one statement + merchant names, "
          f"a persistent connection, JIT off, after a warm-up; each of the {pages} pages once, the CSV's question "
          f"{args.baseline_runs} times):")
    raw_page, _answer = raw(default_first, default_last, page_of, pages)  # every page once, as the endpoint
    cpu_page = raw_cpu["database"]
    raw_odd, _answer = raw(odd_first, odd_last, page_of, pages)
    cpu_odd = raw_cpu["database"]
    raw_all, _answer = raw(default_first, default_last, lambda i: None, args.baseline_runs)
    cpu_all = raw_cpu["database"]
    _t, check = raw(odd_first, odd_last, lambda i: page_ids[:25], 1)
    print(f"  a page of 25 platforms, the last 365 days          p50 {pct(raw_page, 50):6.0f} ms  "
          f"p95 {pct(raw_page, 95):6.0f} ms  database CPU {cpu_page:.0f} ms")
    print(f"  a page of 25 platforms, 365 days ending last month p50 {pct(raw_odd, 50):6.0f} ms  "
          f"p95 {pct(raw_odd, 95):6.0f} ms  database CPU {cpu_odd:.0f} ms")
    print(f"  all {args.platforms} platforms, the last 365 days (the CSV's question) p50 {pct(raw_all, 50):6.0f} ms  "
          f"p95 {pct(raw_all, 95):6.0f} ms  database CPU {cpu_all:.0f} ms")
    page_default = endpoint[questions[0][0]]
    page_odd = endpoint[odd_label]
    print("\nRatios (raw SQL ÷ endpoint over HTTP, the same question)  [target >= 20x]; figures computed on "
          "every request:")
    print(f"  page, the last 365 days:          {pct(raw_page, 50) / pct(page_default, 50):5.1f}x at p50, "
          f"{pct(raw_page, 95) / pct(page_default, 95):5.1f}x at p95")
    print(f"  page, 365 days ending last month: {pct(raw_odd, 50) / pct(page_odd, 50):5.1f}x at p50, "
          f"{pct(raw_odd, 95) / pct(page_odd, 95):5.1f}x at p95")
    print(f"  CSV of all platforms:             {pct(raw_all, 50) / pct(csv_lat, 50):5.1f}x at p50, "
          f"{pct(raw_all, 95) / pct(csv_lat, 95):5.1f}x at p95")
    print("  answers kept between refreshes:")
    print(f"    page, the last 365 days:          {pct(raw_page, 50) / pct(kept[questions[0][0]], 50):5.1f}x at p50, "
          f"{pct(raw_page, 95) / pct(kept[questions[0][0]], 95):5.1f}x at p95")
    print(f"    page, 365 days ending last month: {pct(raw_odd, 50) / pct(kept[odd_label], 50):5.1f}x at p50, "
          f"{pct(raw_odd, 95) / pct(kept[odd_label], 95):5.1f}x at p95")
    print(f"    CSV of all platforms:             {pct(raw_all, 50) / pct(kept['csv'], 50):5.1f}x at p50, "
          f"{pct(raw_all, 95) / pct(kept['csv'], 95):5.1f}x at p95")
    print("  CPU time (raw SQL's database CPU ÷ the endpoint's server + database CPU per request, computed): "
          f"page {cpu_page / endpoint_cpu[questions[0][0]]:.1f}x, 365 days ending last month "
          f"{cpu_odd / endpoint_cpu[odd_label]:.1f}x, CSV {cpu_all / endpoint_cpu['csv']:.1f}x")
    print(f"\nSame figures? page 1, {odd_label}: {compare(odd_page1, check)}")


def refresh_figures(args, connection, stats_rebuild, stats_refresh) -> None:
    from datetime import timedelta

    seconds, result = timed(stats_rebuild)
    print(f"full rebuild: {seconds:.2f} s ({result['cases']:,} cases)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM stats_dailystat), (SELECT count(*) FROM stats_durationbucket), "
                       "(SELECT count(*) FROM stats_monthstat), (SELECT count(*) FROM stats_periodstat), "
                       "(SELECT count(*) FROM stats_statsperiod), (SELECT count(*) FROM stats_daysummary), "
                       "(SELECT count(*) FROM stats_monthsummary)")
        daily, buckets, monthly, period_rows, periods, day_summaries, month_summaries = cursor.fetchone()
    print(f"summary rows: {daily:,} daily, {buckets:,} duration buckets, {monthly:,} monthly, "
          f"{period_rows:,} in {periods} standard periods; composable: {day_summaries:,} day and "
          f"{month_summaries:,} month summaries")

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


def cpu_line() -> str:
    return f"CPU/request: server {CPU['server']:.1f} ms + database {CPU['database']:.1f} ms"


def compare(body: dict, raw_answer: dict) -> str:
    """The endpoint's figures against the raw-row answer (counts, rates, percentiles, levels)."""
    from cases.codes import Status

    n_status = len(Status.values)
    mismatches, checked = [], 0
    for row in body["results"]:
        values = (raw_answer.get(row["platform"]["id"]) or {}).get("values")
        if values is None:
            values = [0] * (n_status + 24)
        got = [row["complaints"], *(row["by_status"][s] for s in Status.values)]
        want = [int(v or 0) for v in values[:1 + n_status]]
        rest = values[1 + n_status:]
        got += [row["escalation_levels"][k] for k in "1234"]
        want += [int(v or 0) for v in rest[7:11]]
        got += [row["platform_response_rate"]["numerator"], row["platform_response_rate"]["denominator"],
                row["platform_response_minutes"]["count"], row["resolution_minutes"]["count"]]
        want += [int(rest[12] or 0), int(rest[11] or 0), int(rest[14] or 0), int(rest[17] or 0)]
        for name, index in (("platform_response_minutes", 15), ("resolution_minutes", 18)):
            for key, offset in (("median", 0), ("p90", 1)):
                if row[name][key] is not None:
                    got.append(row[name][key])
                    want.append(round(float(rest[index + offset]), 2))
        checked += len(got)
        if got != want:
            mismatches.append(row["platform"]["name"])
    return f"{checked} figures compared, " + (f"differences in {mismatches}" if mismatches else "all equal")


class gunicorn:  # noqa: N801 - used as a context manager
    def __init__(self, args, conn_max_age: int, answers: bool = False):
        self.args, self.conn_max_age, self.answers = args, conn_max_age, answers

    def __enter__(self):
        import secrets
        import socket
        import subprocess
        import tempfile

        from django.conf import settings

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.production",
               "DATABASE_URL": self.args.database_url, "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
               "THROTTLE_USER": "1000000/min", "DJANGO_CONN_MAX_AGE": str(self.conn_max_age), "LOG_LEVEL": "WARNING",
               "DJANGO_STATIC_ROOT": tempfile.mkdtemp(prefix="kameng-bench-static-"),
               # the production settings refuse to start without a shared cache and a mail server
               "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
               "EMAIL_HOST": os.environ.get("EMAIL_HOST", "127.0.0.1"),
               "DJANGO_DEFAULT_FROM_EMAIL": "Kameng bench <noreply@example.cn>",
               # ... and without the personal-data keys: the ones this process loaded the data with
               "KAMENG_DATA_KEYS": ",".join(settings.KAMENG_DATA_KEYS),
               "KAMENG_BLIND_INDEX_KEY": settings.KAMENG_BLIND_INDEX_KEY,
               # every request computes its figures, unless the answers kept between refreshes are measured
               "KAMENG_STATS_ANSWER_SECONDS": "300" if self.answers else "0"}
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "kameng_api.wsgi", "--workers", str(self.args.workers), "--bind",
             f"127.0.0.1:{self.args.port}", "--log-level", "warning"], cwd=ROOT, env=env)
        SERVER["pid"] = self.server.pid
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.args.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        import signal
        import subprocess

        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()


def http_latencies(port: int, token: str, query: dict, n: int, pages: int) -> tuple[list[float], dict]:
    """n timed GETs (after a warm-up round, one per worker) of stats/platforms/ as the analyst."""
    import http.client
    import json
    from urllib.parse import urlencode

    out, body = [], {}
    warm = 4
    for i in range(n + warm):
        if i == warm:
            workers, backends = _children(SERVER["pid"]), _backends()
            cpu = _cpu_ms(workers), _cpu_ms(backends)
        q = {k: str(v) for k, v in query.items()}
        if pages:
            q["page"] = str(1 + i % pages)
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/api/v1/stats/platforms/?" + urlencode(q),
                     headers={"Authorization": f"Token {token}", "Host": "127.0.0.1"})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {payload[:300]!r}")
        if i >= warm:
            out.append(elapsed)
        if i == warm and query.get("format") != "csv":
            body = json.loads(payload)
    CPU["server"] = (_cpu_ms(workers) - cpu[0]) / max(n, 1)
    CPU["database"] = (_cpu_ms(backends) - cpu[1]) / max(n, 1)
    return out, body


# CPU time per request of the gunicorn workers and of their PostgreSQL backends: the work a request costs,
# which, unlike its latency, does not grow when other jobs share the machine's cores.
SERVER: dict = {}
CPU: dict = {}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def _backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        return [row[0] for row in cursor.fetchall()]


def _cpu_ms(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
