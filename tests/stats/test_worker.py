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
