"""The personal data migration on a copy with N cases (default 100,000): README "Personal data (PIPL)".

In a PostgreSQL database of its own (default km_pipl_bench on the host of DATABASE_URL; dropped and recreated),
migrates everything, goes back to the schema before encryption, loads N cases whose consumers are stored in
clear (as a database from before the change holds them), then prints

- the time of the forward migration (`cases.0008_consumer_personal_data_encrypted`: encrypt + blind indexes)
  and of the backward one (decrypt, columns narrowed again), and forward once more,
- the time of `rotate_data_keys` over every row with a new first key,
- the queries and the time of the case list (first page) and of a case's detail, and of an exact lookup
  by phone through the blind index.

    python bench/pipl_migration.py [--cases 100000] [--database-url postgres://postgres@127.0.0.1:5432/km_pipl_bench]

Prints figures, never asserts.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BEFORE = "0007_merge_0003_case_list_indexes_0006_merge_law"
AFTER = "0008_consumer_personal_data_encrypted"


def default_url() -> str:
    base = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/x")
    if base.scheme.startswith("postgres"):
        return base._replace(path="/km_pipl_bench").geturl()
    return "postgres://postgres@127.0.0.1:5432/km_pipl_bench"


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=default_url())
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    recreate_database(args.database_url)
    first_key = Fernet.generate_key().decode()
    os.environ.update({
        "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.test",
        "KAMENG_DATA_KEYS": first_key, "KAMENG_BLIND_INDEX_KEY": "bench-blind-index-key-0123456789abcdef",
    })
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("migrate", **quiet)

    from cases.codes import Role
    from cases.models import Case, Consumer, Organization, Platform, User
    from kameng_api.core import crypto
    from tests.factories import CaseFactory

    org = Organization.objects.create(slug="bench-pipl", name="基准测试消协")
    platform = Platform.objects.create(name="基准卡盟")
    template = CaseFactory(organization=org, platform=platform)
    handler = User.objects.create_user("bench-handler", organization=org, role=Role.HANDLER)
    call_command("migrate", "cases", BEFORE, **quiet)  # the schema before: consumers in clear

    n = args.cases
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("""INSERT INTO cases_consumer (organization_id, name, phone, id_number, payment_account)
                          SELECT %s, (ARRAY['张','王','李','赵','刘'])[1 + g %% 5] || '某' || g,
                                 '139' || lpad(g::text, 8, '0'), '11010519900101' || lpad((g %% 10000)::text, 4, '0'),
                                 CASE WHEN g %% 3 = 0 THEN '6222' || lpad(g::text, 12, '0') ELSE '' END
                          FROM generate_series(1, %s) g""", [org.pk, n])
        cursor.execute("SELECT min(id) FROM cases_consumer WHERE phone LIKE '139%%'")
        first_consumer = cursor.fetchone()[0]
        cursor.execute("""SELECT column_name FROM information_schema.columns
                          WHERE table_name = 'cases_case' AND column_name <> 'id' ORDER BY ordinal_position""")
        columns = [row[0] for row in cursor.fetchall()]
        override = {"reference": "'KM-B-' || g", "order_number": "'BENCH' || g",
                    "consumer_id": f"{first_consumer} + g - 1",
                    "created_at": "now() - (g || ' minutes')::interval"}
        select = ", ".join(override.get(c, f't."{c}"') for c in columns)
        cursor.execute(f"""INSERT INTO cases_case ({", ".join(f'"{c}"' for c in columns)})
                           SELECT {select} FROM cases_case t, generate_series(1, %s) g
                           WHERE t.id = %s""", [n, template.pk])  # noqa: S608
        cursor.execute("ANALYZE cases_consumer; ANALYZE cases_case")
    print(f"loaded {n:,} cases with consumers in clear in {time.perf_counter() - started:.1f} s")

    forward = timed(call_command, "migrate", "cases", AFTER, **quiet)
    print(f"forward migration (encrypt {n:,} consumers, blind indexes): {forward:.1f} s")
    backward = timed(call_command, "migrate", "cases", BEFORE, **quiet)
    print(f"backward migration (decrypt, narrow the columns): {backward:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM cases_consumer WHERE id = %s", [first_consumer])
        print(f"  after backward, a phone reads in clear again: {cursor.fetchone()[0][:3]}********")
    forward2 = timed(call_command, "migrate", "cases", AFTER, **quiet)
    print(f"forward migration again: {forward2:.1f} s")

    settings.KAMENG_DATA_KEYS = [Fernet.generate_key().decode(), first_key]
    crypto.reset_keys()
    out = io.StringIO()
    rotate = timed(call_command, "rotate_data_keys", stdout=out)
    print(f"rotate_data_keys over {n:,} consumers (batches of {settings.KAMENG_ROTATE_BATCH}): {rotate:.1f} s "
          f"— {out.getvalue().strip().splitlines()[-1]}")

    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(handler)
    case = Case.objects.filter(organization=org).order_by("-created_at").first()

    def measure(label, fn, repeat=20):
        fn()  # warm
        queries = []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            fn()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label}: {len(queries)} queries, median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms")

    measure("GET /api/v1/cases/ (first page)", lambda: client.get("/api/v1/cases/"))
    measure("GET /api/v1/cases/<id>/ (detail, consumer decrypted)", lambda: client.get(f"/api/v1/cases/{case.pk}/"))
    measure("POST /api/v1/privacy/lookup/ (by phone, blind index)",
            lambda: client.post("/api/v1/privacy/lookup/", {"phone": "13900004321"}, format="json"))
    print(f"consumers: {Consumer.objects.count():,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
