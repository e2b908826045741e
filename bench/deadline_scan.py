"""The deadline alert scan at 10,000 and 100,000 open deadlines: time and number of queries.

`python bench/deadline_scan.py` — on PostgreSQL if DATABASE_URL is set (a throw-away test database is
created next to it and dropped afterwards), else on SQLite in memory. Deadlines are bulk-inserted with
due dates spread from 2 days ago to 10 days ahead, so about a quarter are due soon or overdue; each
alert gets an email (the assignee) and a webhook delivery. The broker is in memory: this measures the
scan and its database work, not Redis."""

import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, Consumer, Organization, Platform, User  # noqa: E402
from escalation.models import Deadline  # noqa: E402
from kameng_api.celery import app  # noqa: E402
from notifications import services  # noqa: E402
from notifications.models import Alert, Delivery, WebhookEndpoint  # noqa: E402

DEADLINES_PER_CASE = 4
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(","))


def populate(count: int, now) -> None:
    Delivery.objects.all().delete()
    Alert.objects.all().delete()
    Deadline.objects.all().delete()
    Case.objects.all().delete()
    Consumer.objects.all().delete()
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "基准测试消协"})
    platform, _ = Platform.objects.get_or_create(name="基准卡盟")
    user, _ = User.objects.get_or_create(username="bench-handler", defaults={
        "organization": org, "role": "handler", "email": "handler@example.cn"})
    WebhookEndpoint.objects.get_or_create(organization=org, url="http://127.0.0.1:9/hooks",
                                          defaults={"events": ["deadline.due_soon", "deadline.overdue",
                                                               "deadline.late", "deadline.very_late"],
                                                    "secret": "whsec_bench"})
    consumer = Consumer.objects.create(organization=org, name="张三", phone="13812345678")
    cases = Case.objects.bulk_create([
        Case(organization=org, reference=f"KM-2026-B{i:07d}", platform=platform, order_number=f"B{i:08d}",
             product_type="game_card", amount_paid=Decimal("100.00"), payment_channel="alipay",
             purchased_at=now - timedelta(days=3), problem_found_at=now - timedelta(days=2),
             dispute_type="invalid_code", consumer=consumer, assignee=user)
        for i in range(count // DEADLINES_PER_CASE)
    ], batch_size=5000)
    span = timedelta(days=12).total_seconds()
    rows = []
    for i in range(count):
        due = now - timedelta(days=2) + timedelta(seconds=span * i / count)
        rows.append(Deadline(case_id=cases[i % len(cases)].pk, kind="merchant_answer", starts_at=due - timedelta(days=2),
                             due_at=due, late_at=due + timedelta(days=1), very_late_at=due + timedelta(days=3)))
        if len(rows) == 5000:
            Deadline.objects.bulk_create(rows)
            rows = []
    Deadline.objects.bulk_create(rows)


def measure(now):
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        totals = services.deadline_alerts_scan(now=now)
        elapsed = time.perf_counter() - started
    per_batch, current = [], 0
    for query in ctx.captured_queries:
        if query["sql"].upper().startswith("BEGIN") and current:
            per_batch.append(current)
            current = 0
        current += 1
    per_batch.append(current)
    totals["queries_per_batch"] = per_batch
    return totals, len(ctx.captured_queries), elapsed


def main():
    app.conf.broker_url = "memory://"
    old_name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"{old_name}_bench_scan"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        print(f"database: {connection.vendor} ({test_name}), batch size {settings.KAMENG_ALERT_SCAN_BATCH}")
        per_batch = {}
        for size in SIZES:
            now = timezone.now()
            populate(size, now)
            totals, queries, elapsed = measure(now)
            again_totals, again_queries, again_elapsed = measure(now)
            # Every batch but the last is full (the last is smaller, or the final empty read).
            full = totals["queries_per_batch"][:-1] or totals["queries_per_batch"]
            per_batch[size] = max(full)
            print(f"{size:>7} open deadlines: scan {elapsed:6.2f} s, {queries:4d} queries, {totals['batches']} batches "
                  f"({per_batch[size]} queries per full batch), {totals['alerts']} alerts, "
                  f"{totals['deliveries']} deliveries; {elapsed / max(totals['alerts'], 1) * 1000:.3f} ms per alert")
            print(f"{'':>7} second scan (nothing new): {again_elapsed:6.3f} s, {again_queries} queries, "
                  f"{again_totals['alerts']} alerts")
        small, large = per_batch[SIZES[0]], per_batch[SIZES[-1]]
        print(f"queries per full batch: {small} at {SIZES[0]:,}, {large} at {SIZES[-1]:,} "
              f"({'constant' if small == large else 'NOT constant'})")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    main()
