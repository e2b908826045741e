"""Cost bounds: verify/ answers from the chain and the last background file check; ?deep=true queues one
(one per case at a time, throttled per caller); a per-case evidence quota."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from evidence import services
from evidence.models import Evidence, FileCheck
from kameng_api.core.roles import Role
from tests.helpers import assert_error, png
from tests.test_security import forget_throttles, rates

pytestmark = pytest.mark.django_db


def verify_url(case, query=""):
    return f"/api/v1/cases/{case.pk}/verify/{query}"


def test_plain_verify_reads_no_file_and_reports_the_last_check(handler, case, upload):
    item = upload(handler, case, png()).json()
    Path(settings.MEDIA_ROOT, Evidence.objects.get(pk=item["id"]).file.name).unlink()  # gone behind our back
    answer = handler.get(verify_url(case)).json()
    assert answer["intact"] is True and answer["checked"] == 1
    assert answer["files"]["status"] == "never_checked" and answer["files"]["covers_all"] is False
    assert not FileCheck.objects.exists()  # a plain call queues nothing


def test_deep_queues_one_check_per_case_and_joins_a_pending_one(handler, supervisor, case, upload):
    upload(handler, case, png())
    first = handler.get(verify_url(case, "?deep=true"))
    second = supervisor.get(verify_url(case, "?deep=1"))
    assert first.status_code == second.status_code == 202
    assert FileCheck.objects.filter(case=case).count() == 1
    pending = second.json()["files"]["pending"]
    assert pending["status"] == "queued" and pending["id"] == FileCheck.objects.get().pk


def test_the_check_records_when_and_what_and_new_evidence_is_marked_uncovered(handler, case, upload):
    upload(handler, case, png())
    handler.get(verify_url(case, "?deep=true"))
    check = FileCheck.objects.get()
    assert services.file_check_run(check_id=check.pk) == "done"
    assert services.file_check_run(check_id=check.pk) == "skipped"  # a second run of the same check exits
    files = handler.get(verify_url(case)).json()["files"]
    assert files["status"] == "checked" and files["intact"] is True and files["files_checked"] == 1
    assert files["covers_all"] is True and files["pending"] is None
    assert abs((timezone.now() - timezone.datetime.fromisoformat(files["checked_at"])).total_seconds()) < 60
    upload(handler, case, png())
    files = handler.get(verify_url(case)).json()["files"]
    assert files["covers_all"] is False and files["up_to_sequence"] == 1


def test_an_abandoned_check_is_replaced(handler, case, upload):
    upload(handler, case, png())
    handler.get(verify_url(case, "?deep=true"))
    FileCheck.objects.update(requested_at=timezone.now() - timedelta(hours=3))
    assert handler.get(verify_url(case, "?deep=true")).status_code == 202
    assert list(FileCheck.objects.order_by("id").values_list("status", flat=True)) == ["failed", "queued"]


@pytest.mark.parametrize("value", ["maybe", "2", "TRUE!", "x" * 300])
def test_a_bad_deep_value_is_a_400(handler, case, value):
    assert_error(handler.get(verify_url(case, f"?deep={value}")), 400, attr="deep")
    assert not FileCheck.objects.exists()


def test_deep_checks_are_throttled_per_caller_but_plain_verify_is_not(make_user, case, upload):
    from rest_framework.test import APIClient

    user = make_user(Role.HANDLER)
    handler = APIClient()
    handler.force_authenticate(user)
    upload(handler, case, png())
    forget_throttles(f"deep_verify_u{user.pk}")
    with rates(deep_verify="2/hour"):
        codes = [handler.get(verify_url(case, "?deep=true")).status_code for _ in range(3)]
        plain = handler.get(verify_url(case)).status_code
    assert codes == [202, 202, 429] and plain == 200


def test_another_organization_cannot_queue_a_check(other_org_handler, case):
    assert other_org_handler.get(verify_url(case, "?deep=true")).status_code == 404
    assert not FileCheck.objects.exists()


def test_sweep_queues_the_cases_checked_longest_ago(handler, case, upload, org, platform):
    from tests.factories import CaseFactory

    upload(handler, case, png())
    other = CaseFactory(organization=org, platform=platform)
    upload(handler, other, png())
    CaseFactory(organization=org, platform=platform)  # no evidence: nothing to check
    assert services.file_checks_sweep(limit=10) == 2
    for check in FileCheck.objects.all():
        services.file_check_run(check_id=check.pk)
    assert services.file_checks_sweep(limit=10) == 0  # both checked just now
    FileCheck.objects.filter(case=other).update(finished_at=timezone.now() - timedelta(days=8))
    assert services.file_checks_sweep(limit=10) == 1
    assert FileCheck.objects.get(status="queued").case_id == other.pk


@pytest.mark.worker
def test_a_deep_check_runs_in_a_real_worker(celery_worker_process, handler, case, upload):
    upload(handler, case, png())
    assert handler.get(verify_url(case, "?deep=true")).status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not FileCheck.objects.filter(status="done").exists():
        time.sleep(0.3)
    assert FileCheck.objects.filter(status="done").exists(), celery_worker_process.log_path.read_text()[-2000:]
    files = handler.get(verify_url(case)).json()["files"]
    assert files["status"] == "checked" and files["intact"] is True and files["checked_at"]


# --- the per-case quota -------------------------------------------------------------------------------------

def _stored_files():
    root = Path(settings.MEDIA_ROOT, "evidence")
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_past_the_case_quota_is_a_413_and_stores_nothing(handler, case, upload, other_case,
                                                                    other_org_handler):
    first = png() + os.urandom(1500)
    with override_settings(EVIDENCE_CASE_QUOTA_BYTES=len(first) + 1000):
        assert upload(handler, case, first).status_code == 201
        before, files_before = Evidence.objects.count(), _stored_files()
        response = upload(handler, case, png() + os.urandom(1500), headers={"HTTP_ACCEPT_LANGUAGE": "en"})
        assert_error(response, 413, code="case_quota_exceeded")
        assert "quota" in response.json()["errors"][0]["detail"]
        assert Evidence.objects.count() == before and _stored_files() == files_before
        # a small one still fits, and another case has its own quota
        assert upload(handler, case, png()).status_code == 201
        assert upload(other_org_handler, other_case, png() + os.urandom(1500)).status_code == 201


def test_a_declared_size_past_the_quota_is_refused_before_the_upload_is_stored(handler, case, upload):
    with override_settings(EVIDENCE_CASE_QUOTA_BYTES=100_000):
        response = upload(handler, case, png() + os.urandom(300_000))
    assert_error(response, 413, code="case_quota_exceeded")
    assert "配额" in response.json()["errors"][0]["detail"]
    assert not Evidence.objects.exists() and _stored_files() == []


def test_withdrawn_files_still_count_towards_the_quota(handler, case, upload):
    content = png() + os.urandom(1500)
    with override_settings(EVIDENCE_CASE_QUOTA_BYTES=len(content) + 500):
        item = upload(handler, case, content).json()
        handler.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "错的"}, format="json")
        assert_error(upload(handler, case, png() + os.urandom(1500)), 413, code="case_quota_exceeded")


def test_default_quota_is_two_gib():
    assert services.case_quota_bytes() == 2 * 1024**3
