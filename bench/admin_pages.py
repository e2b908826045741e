"""Admin page budget: the case page and the home page ("my work") on the demo data — render time and query
count, beside a baseline in the same run (the plain Django changelists of cases and deadlines).
Target: under 300 ms and at most 25 queries each.

Loads `load_demo` into a throw-away SQLite database (or BENCH_DATABASE_URL; `--reuse` keeps one already
loaded), then requests each page through Django's test client as the demo handler and supervisor.
Prints figures; never asserts."""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="kameng-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
os.environ["DJANGO_MEDIA_ROOT"] = os.environ.get("BENCH_MEDIA_ROOT", f"{tmp}/media")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))


def measure(client, url):
    client.get(url)  # warm: templates compiled, session loaded once
    times, queries = [], 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
        assert response.status_code == 200, (url, response.status_code)  # noqa: S101 - a broken page is no figure
    return statistics.median(times), max(times), queries


def main():
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("load_demo", verbosity=0)
    loaded = time.perf_counter() - started
    from django.db.models import Count

    from cases.models import Case, User

    print(f"load_demo: {Case.objects.count()} cases in {loaded:.1f} s (database {connection.vendor})")
    busiest = (Case.objects.filter(organization__slug="demo-cca").annotate(n=Count("events") + Count("evidence"))
               .order_by("-n").first())
    open_case = (Case.objects.filter(organization__slug="demo-cca", status="third_party")
                 .annotate(n=Count("evidence")).order_by("-n").first()) or busiest
    rows = []
    for username in ("handler", "supervisor"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for label, url in (("home (my work)", "/admin/"),
                           (f"case page, open ({open_case.reference})", f"/admin/cases/case/{open_case.pk}/change/"),
                           (f"case page, busiest ({busiest.reference})", f"/admin/cases/case/{busiest.pk}/change/"),
                           ("case list", "/admin/cases/case/"),
                           ("deadline list", "/admin/escalation/deadline/")):
            median, worst, queries = measure(client, url)
            rows.append((username, label, median, worst, queries))
    print(f"{'user':<11} {'page':<42} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for username, label, median, worst, queries in rows:
        print(f"{username:<11} {label:<42} {median:>10.1f} {worst:>8.1f} {queries:>8}")
    print("target: case page and home < 300 ms, <= 25 queries")


if __name__ == "__main__":
    main()
