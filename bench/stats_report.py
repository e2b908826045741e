"""The quarterly complaint analysis at scale: times `stats.reports` (the figures, the XLSX workbook, the DOCX
narrative) for the last complete quarter of the data, national scope, against a database already loaded
and rebuilt by `bench/stats_scale.py` (BENCH_DATABASE_URL, default kameng_bench), beside a baseline in the
same run: the quarter's complaints per platform and product type counted over the raw cases.

    python bench/stats_report.py [--database-url URL] [--runs 3]

Prints figures, never asserts; says so and stops when the database is not loaded.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kameng_bench"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.test")
    os.environ["KAMENG_STATS_SCOPE"] = "national"
    import psycopg

    try:
        with psycopg.connect(args.database_url) as conn:
            facts, last_day = conn.execute("SELECT count(*), max(day) FROM stats_casefact").fetchone()
    except psycopg.Error as exc:
        print(f"no loaded database at {args.database_url} ({exc.__class__.__name__}): run bench/stats_scale.py first")
        return
    if not facts:
        print("the database holds no case facts: run bench/stats_scale.py first")
        return
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from stats import reports

    settings.KAMENG_STATS_SCOPE = "national"
    first, last = reports.last_quarter(last_day)
    print(f"{facts:,} case facts; quarter {first} … {last}; national scope; {args.runs} runs")
    timings = {"figures": [], "xlsx": [], "docx": [], "baseline": []}
    for _run in range(args.runs):
        start = time.perf_counter()
        data = reports.report_data(date_from=first, date_to=last, organization_id=None)
        timings["figures"].append(time.perf_counter() - start)
        start = time.perf_counter()
        workbook = reports.report_xlsx(data, "zh")
        timings["xlsx"].append(time.perf_counter() - start)
        start = time.perf_counter()
        narrative = reports.report_docx(data, "zh")
        timings["docx"].append(time.perf_counter() - start)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT platform_id, product_type, dispute_type, count(*) FROM cases_case "
                "WHERE (created_at AT TIME ZONE %s)::date BETWEEN %s AND %s GROUP BY 1, 2, 3",
                [settings.TIME_ZONE, first, last])
            cursor.fetchall()
        timings["baseline"].append(time.perf_counter() - start)
    for name, values in timings.items():
        print(f"{name:>9}: median {statistics.median(values):6.2f} s  max {max(values):6.2f} s")
    total = statistics.median(timings["figures"]) + statistics.median(timings["xlsx"])
    print(f"report as XLSX (figures + workbook): {total:.2f} s (target < 5 s); "
          f"DOCX: {statistics.median(timings['figures']) + statistics.median(timings['docx']):.2f} s; "
          f"{data['overview']['complaints']:,} complaints, {len(data['ranking'])} platforms, "
          f"files {len(workbook):,} / {len(narrative):,} bytes")


if __name__ == "__main__":
    main()
