"""Escalation figures: working-day arithmetic, recommendations, letters, the recount after a calendar change.

Runs on a throw-away SQLite database (or BENCH_DATABASE_URL). Prints figures; never asserts."""

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="kameng-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


def timed(label, fn, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    elapsed = time.perf_counter() - start
    print(f"{label}: {elapsed / repeat * 1000:.3f} ms each ({repeat / elapsed:,.0f}/s)")


def main():
    call_command("migrate", verbosity=0)
    from escalation import services
    from escalation.calendar import Calendar
    from escalation.letter import letter_text
    from escalation.models import Deadline
    from escalation.recommendation import recommend
    from tests.factories import CaseFactory, OrganizationFactory, PlatformFactory

    cal = Calendar.load()
    start = datetime(2026, 9, 18, 10, tzinfo=SH)
    timed("add 7 working days across National Day", lambda: cal.add_working_days(start, 7), 20000)
    timed("add 45 working days (12315 mediation)", lambda: cal.add_working_days(start, 45), 5000)
    timed("load the calendar overrides (one query)", Calendar.load, 2000)

    org = OrganizationFactory()
    platform = PlatformFactory()
    cases = [CaseFactory(organization=org, platform=platform) for _ in range(200)]
    case = cases[0]
    timed("recommendation for a case", lambda: recommend(case), 500)
    with CaptureQueriesContext(connection) as queries:
        recommend(case)
    print(f"recommendation queries: {len(queries)}")
    timed("letter (zh-hans, platform)", lambda: letter_text(case, channel="platform"), 500)
    timed("letter (en, recommended channel)", lambda: letter_text(case, lang="en"), 500)
    from escalation.documents import document_render

    timed("民事起诉状 as text", lambda: document_render(case=case, kind="civil_complaint"), 300)
    timed("民事起诉状 as .docx", lambda: document_render(case=case, kind="civil_complaint", fmt="docx"), 100)
    from escalation.lawbook import RuleBook

    timed("load the rule table (one query)", RuleBook.load, 2000)

    for index, c in enumerate(cases):
        services.deadline_build(case=c, kind="12315_acceptance", unit="working_days", amount=7, very_late=7,
                                starts_at=start + timedelta(days=index % 90), cal=cal).save()
        services.deadlines_for_new_case(case=c)
    total = Deadline.objects.count()
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        moved = services.deadlines_recompute()
    elapsed = time.perf_counter() - t0
    print(f"recount of {total} open deadlines ({Deadline.objects.filter(working_days__isnull=False).count()} in "
          f"working days): {elapsed * 1000:.1f} ms, {len(queries)} queries, {moved} moved")


if __name__ == "__main__":
    main()
