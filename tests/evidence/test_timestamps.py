"""RFC 3161 trusted timestamps against a real local TSA (openssl ts -reply, throw-away CA made per test)."""

import hashlib
import io
import json
import shutil
import socket
import subprocess
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from evidence import services
from evidence.bundle import verify_bundle
from evidence.localtsa import LocalTSA
from evidence.models import Evidence, EvidenceChain, EvidenceTimestamp, TimestampStatus
from kameng_api.core.roles import Role
from tests.conftest import require
from tests.helpers import pdf, png

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PORTS = range(8540, 8600)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8540-8599")


@pytest.fixture
def tsa(tmp_path):
    with LocalTSA(tmp_path / "tsa", port=free_port()) as server:
        yield server


@pytest.fixture
def forger(tmp_path):
    """A TSA with its own CA, which the service does not trust: its tokens are forgeries to us."""
    with LocalTSA(tmp_path / "forger", port=free_port(), name="Kameng Local TSA") as server:
        yield server


@pytest.fixture
def configured(settings, tsa):
    settings.KAMENG_TSA_URL = [tsa.url]
    settings.KAMENG_TSA_CA_FILE = str(tsa.ca_file)
    settings.KAMENG_TSA_CERT_FILE = ""
    settings.KAMENG_TSA_TIMEOUT = 5
    settings.KAMENG_TSA_MAX_ATTEMPTS = 3
    return settings


def stamp_all(**kwargs) -> list[str]:
    return [services.timestamp_attempt(timestamp_id=pk, **kwargs)
            for pk in EvidenceTimestamp.objects.order_by("pk").values_list("pk", flat=True)]


def make_due():
    EvidenceTimestamp.objects.exclude(status=TimestampStatus.STAMPED).update(next_attempt_at=timezone.now())


def item_json(client, item_id):
    response = client.get(f"/api/v1/evidence/{item_id}/", **EN)
    assert response.status_code == 200
    return response.json()


# --- without a TSA ---------------------------------------------------------------------------------------

def test_without_a_tsa_evidence_works_as_before_and_says_no_tsa_configured(handler, case, upload, tmp_path):
    item = upload(handler, case).json()
    assert item["timestamp"]["status"] == "not_configured"
    assert item_json(handler, item["id"])["timestamp"]["label"] == "no TSA configured"
    assert handler.get(f"/api/v1/evidence/{item['id']}/").json()["timestamp"]["label"] == "未配置时间戳服务机构"
    assert not EvidenceTimestamp.objects.exists()
    result = handler.get(f"/api/v1/cases/{case.pk}/verify/").json()
    assert result["intact"] is True and result["timestamps"]["configured"] is False
    response = handler.get(f"/api/v1/cases/{case.pk}/bundle/")
    path = tmp_path / "b.zip"
    path.write_bytes(b"".join(response.streaming_content))
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if n.startswith(("timestamps/", "tsa/"))]
    out = io.StringIO()
    call_command("verify_bundle", str(path), stdout=out)
    assert "No timestamp tokens" in out.getvalue()


# --- a good token ----------------------------------------------------------------------------------------

def test_upload_is_usable_at_once_and_the_token_arrives_after(configured, tsa, handler, case, upload):
    content = png()
    response = upload(handler, case, content)
    assert response.status_code == 201
    item = response.json()
    assert item["timestamp"]["status"] == "pending" and tsa.requests == 0  # the upload never waits for the TSA
    assert handler.get(f"/api/v1/evidence/{item['id']}/download/").status_code == 200
    rows = list(EvidenceTimestamp.objects.order_by("subject"))
    assert [(r.subject, r.sequence, r.digest) for r in rows] == [
        ("head", 1, EvidenceChain.objects.get(case=case).head_hash), ("item", 1, hashlib.sha256(content).hexdigest())]
    before = timezone.now()
    assert stamp_all() == ["stamped", "stamped"]
    shown = item_json(handler, item["id"])["timestamp"]
    assert shown["status"] == "stamped" and shown["tsa"] == "Kameng Local TSA" and shown["tsa_url"] == tsa.url
    assert shown["label"].startswith("stamped at ") and shown["label"].endswith(" by Kameng Local TSA")
    stamped_at = timezone.datetime.fromisoformat(shown["stamped_at"])
    assert before - timedelta(seconds=5) <= stamped_at <= timezone.now() + timedelta(seconds=5)
    result = handler.get(f"/api/v1/cases/{case.pk}/verify/", **EN).json()
    assert result["intact"] is True
    assert result["timestamps"] == {**result["timestamps"], "stamped": 2, "verified": 2, "pending": 0,
                                    "checked_against_ca": True}
    assert result["timestamps"]["head"]["status"] == "stamped"
    assert stamp_all() == ["skipped", "skipped"]  # a second run of the task changes nothing


def test_every_new_chain_head_is_stamped_including_withdrawals(configured, tsa, handler, case, upload):
    a = upload(handler, case, pdf(), name="order.pdf", kind="order_screenshot", occurred_at=case.purchased_at).json()
    b = upload(handler, case, png()).json()
    handler.post(f"/api/v1/evidence/{a['id']}/withdraw/", {"reason": "重复"}, format="json")
    upload(handler, case, png(), supersedes=b["id"], reason="更清晰的截图")
    stamp_all()
    heads = EvidenceTimestamp.objects.filter(subject="head").order_by("sequence")
    chain_hashes = {e.sequence: e.entry_hash for e in Evidence.objects.filter(case=case)}
    # the supersession appends two entries in one transaction: the head after it (5) is the one stamped
    assert [h.sequence for h in heads] == [1, 2, 3, 5]
    assert heads[0].digest == chain_hashes[1] and heads[1].digest == chain_hashes[2]
    assert heads.last().digest == EvidenceChain.objects.get(case=case).head_hash
    assert all(h.status == "stamped" for h in heads)
    assert EvidenceTimestamp.objects.filter(subject="item").count() == 3


# --- tokens that must be refused ------------------------------------------------------------------------

def test_a_forged_token_is_refused_retried_and_then_failed_with_the_reason(configured, forger, handler, case,
                                                                          upload):
    configured.KAMENG_TSA_URL = [forger.url]  # signs with a CA we do not trust
    item = upload(handler, case).json()
    row = EvidenceTimestamp.objects.get(evidence_id=item["id"])
    assert services.timestamp_attempt(timestamp_id=row.pk) == "retry"
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and not bytes(row.token)
    assert "does not verify against the configured TSA certificates" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert services.timestamp_attempt(timestamp_id=row.pk) == "skipped"  # not due yet
    for _ in range(2):
        make_due()
        result = services.timestamp_attempt(timestamp_id=row.pk)
    assert result == "failed"
    shown = item_json(handler, item["id"])["timestamp"]
    assert shown["status"] == "failed" and shown["attempts"] == 3
    assert shown["label"].startswith("failed after 3 attempts:") and "does not verify" in shown["error"]


def test_failover_to_the_next_tsa_when_the_first_one_is_not_trusted(configured, tsa, forger, handler, case, upload):
    configured.KAMENG_TSA_URL = [forger.url, tsa.url]
    item = upload(handler, case).json()
    row = EvidenceTimestamp.objects.get(evidence_id=item["id"])
    assert services.timestamp_attempt(timestamp_id=row.pk) == "stamped"
    row.refresh_from_db()
    assert row.tsa_url == tsa.url and forger.requests == 1 and tsa.requests == 1
    assert forger.url in row.last_error  # what happened on the way is kept


@pytest.mark.parametrize(("mode", "message"), [
    ("other_hash", "the token is for another hash"),
    ("other_nonce", "nonce mismatch"),
    ("error", "HTTP 500 from the TSA"),
])
def test_a_token_for_another_hash_or_request_is_refused(configured, tsa, handler, case, upload, mode, message):
    tsa.mode = mode
    item = upload(handler, case).json()
    row = EvidenceTimestamp.objects.get(evidence_id=item["id"])
    assert services.timestamp_attempt(timestamp_id=row.pk) == "retry"
    row.refresh_from_db()
    assert message in row.last_error and not bytes(row.token) and row.gen_time is None


def test_a_tsa_that_is_down_is_retried_then_failed_and_the_token_arrives_once_it_is_back(configured, tsa, handler,
                                                                                       case, upload):
    tsa.stop()
    items = [upload(handler, case).json() for _ in range(2)]
    def rows():
        return list(EvidenceTimestamp.objects.order_by("pk"))

    waits = []
    for attempt in range(3):
        make_due()
        before = timezone.now()
        results = stamp_all()
        assert set(results) == ({"retry"} if attempt < 2 else {"failed"})
        waits.append(min((r.next_attempt_at - before).total_seconds() for r in rows()))
    assert waits[1] > waits[0] / 2 and waits[1] >= 15  # back-off: 30 s base, then 60 s (with jitter)
    assert all(r.status == "failed" and "TSA unreachable" in r.last_error for r in rows())
    shown = item_json(handler, items[0]["id"])["timestamp"]
    assert shown["status"] == "failed" and "TSA unreachable" in shown["label"]
    # a failed row is not forgotten: the sweep sends it again once its wait is over
    assert services.timestamps_sweep() == 0
    later = timezone.now() + timedelta(seconds=configured.KAMENG_TSA_FAILED_RETRY + 120)
    assert services.timestamps_sweep(now=later) == len(rows())
    tsa.start()  # back, on the same port
    EvidenceTimestamp.objects.update(next_attempt_at=timezone.now())
    assert stamp_all() == ["stamped"] * 4
    assert item_json(handler, items[1]["id"])["timestamp"]["status"] == "stamped"


def test_clock_skew_beyond_the_tolerance_is_refused_within_it_accepted(configured, tsa, handler, case, upload):
    require(shutil.which("faketime") is not None, "faketime is not installed (apt-get install faketime)")
    tsa.skew_seconds = -3600
    item = upload(handler, case).json()
    row = EvidenceTimestamp.objects.get(evidence_id=item["id"])
    assert services.timestamp_attempt(timestamp_id=row.pk) == "retry"
    row.refresh_from_db()
    assert "clock is off by -360" in row.last_error and "tolerance ±300 s" in row.last_error
    tsa.skew_seconds = 120  # inside 300 s + the token's accuracy (1 s)
    make_due()
    assert services.timestamp_attempt(timestamp_id=row.pk) == "stamped"
    row.refresh_from_db()
    assert timedelta(seconds=100) < row.gen_time - row.created_at < timedelta(seconds=200)


def test_a_rejection_from_the_tsa_is_refused_with_its_reason(tsa):
    """A TSA answers a malformed query with a PKIStatus rejection, not a token: shown as the TSA's words."""
    import urllib.request

    from evidence import timestamps

    request = urllib.request.Request(  # noqa: S310 - the local TSA
        tsa.url, data=b"not a query", headers={"Content-Type": "application/timestamp-query"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        reply = answer.read()
    with pytest.raises(timestamps.TimestampError, match="the TSA refused the request .Bad request format"):
        timestamps.verify_token(reply, digest_hex="00" * 32, trust=timestamps.Trust.from_files(tsa.ca_file))
    with pytest.raises(timestamps.TimestampError, match="not an RFC 3161 time-stamp response"):
        timestamps.verify_token(b"<html>busy</html>", digest_hex="00" * 32,
                                trust=timestamps.Trust.from_files(tsa.ca_file))


# --- a token never changes ------------------------------------------------------------------------------

def test_a_stamped_token_can_never_change(configured, tsa, handler, case, upload, make_user, client):
    from cases.roles import sync_role_group

    item = upload(handler, case).json()
    stamp_all()
    row = EvidenceTimestamp.objects.get(evidence_id=item["id"])
    original = bytes(row.token)
    row.token = b"other"
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        EvidenceTimestamp.objects.filter(pk=row.pk).update(token=b"x")
    with pytest.raises(ValidationError):
        EvidenceTimestamp.objects.filter(pk=row.pk).update(tsa_name="someone else")
    with pytest.raises(ValidationError):
        row.delete()
    with pytest.raises(ValidationError):
        EvidenceTimestamp.objects.filter(pk=row.pk).delete()
    assert services.timestamps_retry_now(actor=None, queryset=EvidenceTimestamp.objects.all()) == 0
    assert bytes(EvidenceTimestamp.objects.get(pk=row.pk).token) == original
    staff = make_user(Role.SUPERVISOR)
    sync_role_group(staff)
    client.force_login(staff)
    page = client.get(f"/admin/evidence/evidencetimestamp/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"stamped at" in page.content and b'name="token"' not in page.content
    assert client.post(f"/admin/evidence/evidencetimestamp/{row.pk}/change/", {"tsa_name": "x"}).status_code == 403
    assert client.post(f"/admin/evidence/evidencetimestamp/{row.pk}/delete/").status_code == 403
    case_page = client.get(f"/admin/cases/case/{case.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "by Kameng Local TSA" in case_page


def test_admin_retry_now_requests_a_failed_token_again(configured, tsa, handler, case, upload, make_user, client):
    from cases.roles import sync_role_group

    tsa.mode = "error"
    upload(handler, case)
    for _ in range(3):
        make_due()
        stamp_all()
    assert set(EvidenceTimestamp.objects.values_list("status", flat=True)) == {"failed"}
    staff = make_user(Role.HANDLER)
    sync_role_group(staff)
    client.force_login(staff)
    listing = client.get("/admin/evidence/evidencetimestamp/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200 and b"HTTP 500 from the TSA" in listing.content
    ids = list(EvidenceTimestamp.objects.values_list("pk", flat=True))
    response = client.post("/admin/evidence/evidencetimestamp/", {"action": "retry_now", "_selected_action": ids})
    assert response.status_code == 302
    assert set(EvidenceTimestamp.objects.values_list("status", "attempts")) == {("pending", 0)}
    tsa.mode = "ok"
    assert stamp_all() == ["stamped", "stamped"]


# --- verify/ checks the tokens ----------------------------------------------------------------------------

def test_verify_finds_a_token_swapped_or_damaged_in_the_database(configured, tsa, handler, case, upload):
    a = upload(handler, case).json()
    b = upload(handler, case).json()
    stamp_all()
    token_b = bytes(EvidenceTimestamp.objects.get(evidence_id=b["id"]).token)
    with connection.cursor() as cursor:  # behind the model's back, as an attacker with the database would
        cursor.execute("UPDATE evidence_evidencetimestamp SET token = %s WHERE evidence_id = %s", [token_b, a["id"]])
    result = handler.get(f"/api/v1/cases/{case.pk}/verify/", **EN).json()
    assert result["intact"] is False and result["first_bad"] == a["id"]
    assert any("timestamp of the file does not verify" in p["problem"] and "another hash" in p["problem"]
               for p in result["problems"])
    damaged = bytearray(token_b)
    damaged[len(damaged) // 2] ^= 0x01
    with connection.cursor() as cursor:
        cursor.execute("UPDATE evidence_evidencetimestamp SET token = %s WHERE evidence_id = %s",
                       [bytes(damaged), b["id"]])
    problems = handler.get(f"/api/v1/cases/{case.pk}/verify/", **EN).json()["problems"]
    assert any(p["evidence"] == b["id"] and "does not verify" in p["problem"] for p in problems)


# --- the bundle and openssl --------------------------------------------------------------------------------

def fetch(client, case, tmp_path, name="bundle.zip") -> Path:
    response = client.get(f"/api/v1/cases/{case.pk}/bundle/")
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return path


def unpack(path: Path, target: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(target)
    return target


def openssl(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def stamped_bundle(configured, tsa, handler, case, upload, tmp_path):
    upload(handler, case, pdf(), name="order.pdf", kind="order_screenshot", occurred_at=case.purchased_at)
    b = upload(handler, case, png(), name="错误 it's (1).png").json()  # a name a shell must quote
    c = upload(handler, case, "商家：明天补发".encode(), name="chat.txt", kind="chat_log").json()
    handler.post(f"/api/v1/evidence/{c['id']}/withdraw/", {"reason": "不相关"}, format="json")
    stamp_all()
    upload(handler, case, png())  # its token is still pending when the bundle is made
    return fetch(handler, case, tmp_path), b


def test_bundle_carries_every_token_and_the_tsa_certificates(stamped_bundle, tsa, case, tmp_path):
    path, _b = stamped_bundle
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        ca = archive.read("tsa/ca.pem")
    assert ca == tsa.ca_file.read_bytes()
    assert {"tsa/ca.pem", "tsa/tsa-certs.pem", "timestamps/VERIFY.txt"} <= set(names)
    listed = {(t["subject"], t["sequence"]) for t in manifest["timestamps"]}
    # files 1 and 2 (3 is withdrawn, 5 still pending); heads 1-4 (5 pending)
    assert listed == {("item", 1), ("item", 2), ("head", 1), ("head", 2), ("head", 3), ("head", 4)}
    assert {(p["subject"], p["sequence"]) for p in manifest["timestamps_pending"]} == {("item", 5), ("head", 5)}
    assert all(t["path"] in names for t in manifest["timestamps"])
    problems, facts = verify_bundle(path)
    assert problems == [] and facts["timestamps"] == 6 and facts["stamped_head"] == 4
    out = io.StringIO()
    call_command("verify_bundle", str(path), "--tsa-ca", str(tsa.ca_file), stdout=out)
    assert "6 timestamp token(s) verified" in out.getvalue() and "chain head 4 stamped at" in out.getvalue()


def test_openssl_ts_verify_accepts_every_token_of_the_bundle_by_hand(stamped_bundle, tmp_path):
    """The README's commands, run with the openssl binary on the unpacked bundle."""
    path, _b = stamped_bundle
    folder = unpack(path, tmp_path / "unpacked")
    manifest = json.loads((folder / "manifest.json").read_text())
    for item in manifest["timestamps"]:
        source = ["-data", item["data"]] if item["subject"] == "item" else ["-digest", item["digest"]]
        done = openssl("ts", "-verify", "-in", item["path"], *source, "-CAfile", "tsa/ca.pem",
                       "-untrusted", "tsa/tsa-certs.pem", cwd=folder)
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
    head = next(t for t in manifest["timestamps"] if t["subject"] == "head" and t["sequence"] == 4)
    assert head["digest"] == manifest["entries"][3]["hash"]
    reply = openssl("ts", "-reply", "-in", head["path"], "-text", cwd=folder).stdout
    hex_dump = "".join(line.split(" - ")[1][:48] for line in reply.splitlines() if line.startswith("    00"))
    assert "Status: Granted." in reply and hex_dump.replace(" ", "").replace("-", "") == head["digest"]
    assert f"Serial number: 0x{int(head['serial']):02X}" in reply
    commands = (folder / "timestamps" / "VERIFY.txt").read_text().splitlines()
    runnable = [line for line in commands if line.startswith("openssl ")]
    assert len(runnable) == len(manifest["timestamps"])
    for line in runnable:
        done = subprocess.run(line, shell=True, cwd=folder, capture_output=True, text=True, timeout=30)  # noqa: S602
        assert "Verification: OK" in done.stdout, (line, done.stderr)


def test_a_flipped_byte_in_a_file_or_a_token_is_found_by_openssl_and_verify_bundle(stamped_bundle, tmp_path):
    path, b = stamped_bundle
    folder = unpack(path, tmp_path / "unpacked")
    manifest = json.loads((folder / "manifest.json").read_text())
    token = next(t for t in manifest["timestamps"] if t["subject"] == "item" and t["sequence"] == 2)
    data = folder / token["data"]
    content = bytearray(data.read_bytes())
    content[-1] ^= 0x01
    data.write_bytes(bytes(content))
    done = openssl("ts", "-verify", "-in", token["path"], "-data", token["data"], "-CAfile", "tsa/ca.pem",
                   "-untrusted", "tsa/tsa-certs.pem", cwd=folder)
    assert done.returncode != 0 and "Verification: OK" not in done.stdout

    def flip(name, data):
        if name == token["path"]:
            data = bytearray(data)
            data[len(data) - 40] ^= 0x01
        return bytes(data)

    forged = tmp_path / "forged-token.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, flip(info.filename, src.read(info.filename)))
    problems, _facts = verify_bundle(forged)
    assert any(p.startswith(token["path"]) and "does not hold up" in p for p in problems), problems
    with pytest.raises(CommandError):
        call_command("verify_bundle", str(forged), stdout=io.StringIO(), stderr=io.StringIO())
    bad = unpack(forged, tmp_path / "forged")
    done = openssl("ts", "-verify", "-in", token["path"], "-data", token["data"], "-CAfile", "tsa/ca.pem",
                   "-untrusted", "tsa/tsa-certs.pem", cwd=bad)
    assert "Verification: OK" not in done.stdout


def test_verify_bundle_with_another_tsa_root_refuses_the_tokens(stamped_bundle, forger, tmp_path):
    path, _b = stamped_bundle
    problems, _facts = verify_bundle(path, tsa_ca=forger.ca_file.read_bytes())
    assert problems and all("does not verify against the configured TSA certificates" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("verify_bundle", str(path), "--tsa-ca", str(tmp_path / "missing.pem"), stdout=io.StringIO())


# --- once through a real worker ---------------------------------------------------------------------------

@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_tokens_arrive_through_a_real_worker_after_the_tsa_comes_back(request, monkeypatch, settings, tmp_path,
                                                                      org, platform, make_user):
    from rest_framework.test import APIClient

    from tests.factories import CaseFactory
    from tests.helpers import multipart

    tsa = LocalTSA(tmp_path / "tsa", port=free_port())  # made, not yet listening: the TSA is down
    env = {"KAMENG_TSA_URL": tsa.url, "KAMENG_TSA_CA_FILE": str(tsa.ca_file), "KAMENG_TSA_BACKOFF_BASE": "1",
           "KAMENG_TSA_BACKOFF_CAP": "2", "KAMENG_TSA_MAX_ATTEMPTS": "50", "KAMENG_TSA_TIMEOUT": "3"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings.KAMENG_TSA_URL, settings.KAMENG_TSA_CA_FILE = [tsa.url], str(tsa.ca_file)
    worker = request.getfixturevalue("celery_worker_process")
    case = CaseFactory(organization=org, platform=platform)
    client = APIClient()
    client.force_authenticate(make_user(Role.HANDLER))
    ids = []
    for _ in range(2):
        body, content_type = multipart({"kind": "error_screenshot",
                                        "occurred_at": (case.problem_found_at + timedelta(minutes=5)).isoformat()},
                                       ("shot.png", png(), "image/png"))
        response = client.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])

    def wait_for(condition, seconds=40):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.3)
        return False

    assert wait_for(lambda: EvidenceTimestamp.objects.filter(attempts__gte=2).count() == 4), \
        worker.log_path.read_text()[-3000:]
    assert set(EvidenceTimestamp.objects.values_list("status", flat=True)) == {"pending"}
    assert "TSA unreachable" in EvidenceTimestamp.objects.first().last_error
    with tsa:
        assert wait_for(lambda: EvidenceTimestamp.objects.filter(status="stamped").count() == 4), \
            worker.log_path.read_text()[-3000:]
    for item_id in ids:
        shown = client.get(f"/api/v1/evidence/{item_id}/", **EN).json()["timestamp"]
        assert shown["status"] == "stamped" and shown["tsa_url"] == tsa.url
    assert client.get(f"/api/v1/cases/{case.pk}/verify/").json()["timestamps"]["verified"] == 4


def test_the_sweep_requests_tokens_for_evidence_from_before_a_tsa_was_configured(settings, tsa, handler, case,
                                                                               upload):
    old = upload(handler, case).json()  # no TSA yet
    assert services.timestamps_sweep() == 0 and not EvidenceTimestamp.objects.exists()
    settings.KAMENG_TSA_URL, settings.KAMENG_TSA_CA_FILE = [tsa.url], str(tsa.ca_file)
    assert item_json(handler, old["id"])["timestamp"]["label"] == "pending (not yet requested)"
    assert services.timestamps_backfill() == 2  # the item and the current head
    assert services.timestamps_backfill() == 0  # once only
    assert stamp_all() == ["stamped", "stamped"]
    assert item_json(handler, old["id"])["timestamp"]["status"] == "stamped"


def test_the_token_of_an_item_can_be_downloaded_once_stamped(configured, tsa, handler, case, upload, other_org_handler,
                                                             analyst, anon, tmp_path):
    content = png()
    item = upload(handler, case, content).json()
    url = f"/api/v1/evidence/{item['id']}/timestamp/"
    pending = handler.get(url, **EN)
    assert pending.status_code == 404 and "no timestamp token yet (pending)" in pending.json()["errors"][0]["detail"]
    stamp_all()
    response = handler.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/timestamp-reply"
    assert response.content == bytes(EvidenceTimestamp.objects.get(evidence_id=item["id"]).token)
    (tmp_path / "t.tsr").write_bytes(response.content)
    (tmp_path / "f.png").write_bytes(content)
    done = openssl("ts", "-verify", "-in", "t.tsr", "-data", "f.png", "-CAfile", str(tsa.ca_file), cwd=tmp_path)
    assert "Verification: OK" in done.stdout, done.stderr
    assert other_org_handler.get(url).status_code == 404
    assert analyst.get(url).status_code == 403
    assert anon.get(url).status_code == 401


def test_a_tsa_that_sends_its_chain_in_non_der_order_is_accepted_and_its_bytes_kept(settings, tmp_path, handler,
                                                                                   case, upload):
    """OpenSSL (like many TSAs) writes the embedded certificates in a SET OF that is not in DER order."""
    from rfc3161_client import decode_timestamp_response

    with LocalTSA(tmp_path / "chain", port=free_port(), include_chain=True) as tsa:
        settings.KAMENG_TSA_URL, settings.KAMENG_TSA_CA_FILE = [tsa.url], str(tsa.ca_file)
        content = png()
        item = upload(handler, case, content).json()
        assert stamp_all() == ["stamped", "stamped"]
    token = bytes(EvidenceTimestamp.objects.get(evidence_id=item["id"]).token)
    with pytest.raises(ValueError, match="SetOrdering"):
        decode_timestamp_response(token)  # the stored bytes are the TSA's own, not a re-encoding
    (tmp_path / "t.tsr").write_bytes(token)
    (tmp_path / "f.png").write_bytes(content)
    done = openssl("ts", "-verify", "-in", "t.tsr", "-data", "f.png", "-CAfile", str(tsa.ca_file), cwd=tmp_path)
    assert "Verification: OK" in done.stdout, done.stderr
    path = fetch(handler, case, tmp_path)
    assert verify_bundle(path)[0] == []
    assert handler.get(f"/api/v1/cases/{case.pk}/verify/").json()["timestamps"]["verified"] == 2
