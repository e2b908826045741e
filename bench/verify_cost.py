"""What `verify/` costs: the old answer (chain + a re-hash of every stored file, on every call) beside the
new one (chain + the last background file check), and the background check itself.

Runs on a throw-away SQLite database and media directory (or BENCH_DATABASE_URL). `--files N --mb M`
(default 20 files of 10 MB). Prints figures; never asserts."""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="kameng-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
os.environ["DJANGO_MEDIA_ROOT"] = f"{tmp}/media"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("EVIDENCE_CASE_QUOTA_BYTES", str(100 * 1024**3))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def p50(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, max(times) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mb", type=int, default=10)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from datetime import timedelta

    from rest_framework.test import APIClient

    from evidence import selectors, services
    from evidence.models import FileCheck
    from kameng_api.core.roles import Role
    from tests.factories import CaseFactory, OrganizationFactory, PlatformFactory, UserFactory

    org = OrganizationFactory()
    case = CaseFactory(organization=org, platform=PlatformFactory())
    client = APIClient()
    user = UserFactory(organization=org, role=Role.HANDLER)
    client.force_authenticate(user)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    for i in range(args.files):
        content = png + os.urandom(args.mb * 1024 * 1024)
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(f"/api/v1/cases/{case.pk}/evidence/", {
            "file": SimpleUploadedFile(f"shot{i}.png", content, content_type="image/png"),
            "kind": "error_screenshot",
            "occurred_at": (case.problem_found_at + timedelta(minutes=10)).isoformat(),
        }, format="multipart")
        assert response.status_code == 201, response.content
    total = args.files * args.mb
    print(f"case with {args.files} files, {total} MB stored")
    old, old_max = p50(lambda: selectors.chain_verify(case, check_files=True), 3)
    print(f"before: verify/ re-hashing every file on each call: p50 {old:.0f} ms (max {old_max:.0f} ms), "
          f"{total / (old / 1000):.0f} MB/s")
    new, new_max = p50(lambda: selectors.verify_answer(case), 50)
    print(f"now: verify/ from the chain and the last file check: p50 {new:.1f} ms (max {new_max:.1f} ms); "
          f"{old / new:.0f}x less per call")
    start = time.perf_counter()
    check, _queued = services.file_check_request(actor=user, case=case)
    request_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    services.file_check_run(check_id=check.pk)
    run_s = time.perf_counter() - start
    print(f"now: ?deep=true queues in {request_ms:.1f} ms; the background check re-hashes {total} MB in "
          f"{run_s:.2f} s ({total / run_s:.0f} MB/s), once per case however many callers ask")
    print(f"file checks recorded: {FileCheck.objects.count()}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
