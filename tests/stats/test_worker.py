import time

import pytest

from stats.models import CaseFact, RefreshState
from stats.tasks import refresh_stats

from .conftest import at, make_case


@pytest.mark.worker
def test_refresh_runs_in_a_real_worker(celery_worker_process, org, platform):
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2))
    refresh_stats.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not RefreshState.objects.filter(watermark__isnull=False).exists():
        time.sleep(0.3)
    assert RefreshState.objects.get().watermark is not None, celery_worker_process.log_path.read_text()[-2000:]
    assert CaseFact.objects.filter(platform_id=platform.id).count() == 1


@pytest.mark.worker
def test_the_quarterly_report_is_prepared_by_a_real_worker(celery_worker_process, org, platform, user_client):
    import io

    import openpyxl
    from django.utils import timezone

    from kameng_api.core.roles import Role
    from stats.models import QuarterlyReport
    from stats.reports import last_quarter
    from stats.services import stats_rebuild
    from stats.tasks import quarterly_report

    first, _last = last_quarter(timezone.localdate())
    for day in range(12):
        make_case(organization=org, platform=platform, created_at=at(first.year, first.month, 1 + day))
    stats_rebuild()
    quarterly_report.delay()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not QuarterlyReport.objects.filter(organization=org).exists():
        time.sleep(0.5)
    report = QuarterlyReport.objects.filter(organization=org).first()
    assert report is not None, celery_worker_process.log_path.read_text()[-2000:]
    assert report.first_day == first and report.first_day < timezone.localdate()
    response = user_client(Role.ANALYST).get(f"/api/v1/stats/reports/{report.id}/xlsx/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    overview = [list(r) for r in book["概览"].iter_rows(values_only=True)]
    assert ["投诉量", 12] in [r[:2] for r in overview]
