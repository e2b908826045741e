import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from evidence.bundle import verify_bundle
from evidence.models import Evidence, EvidenceChain, EvidenceRevocation
from kameng_api.core.roles import Role
from tests.factories import CaseFactory
from tests.helpers import MP4, assert_error, pdf, png

pytestmark = pytest.mark.django_db


def verify(client, case):
    response = client.get(f"/api/v1/cases/{case.pk}/verify/")
    assert response.status_code == 200, response.content
    return response.json()


def deep_verify(client, case):
    """`?deep=true` queues a background re-hash of the files; run it here (a worker does in production)."""
    from evidence.models import FileCheck
    from evidence.services import file_check_run

    assert client.get(f"/api/v1/cases/{case.pk}/verify/?deep=true").status_code == 202
    check = FileCheck.objects.get(case=case, status="queued")
    assert file_check_run(check_id=check.pk) == "done"
    return verify(client, case)


def three_items(client, case, upload):
    a = upload(client, case, pdf(), name="order.pdf", kind="order_screenshot", occurred_at=case.purchased_at).json()
    b = upload(client, case, png(), kind="error_screenshot").json()
    c = upload(client, case, "商家：明天补发".encode(), name="chat.txt", kind="chat_log").json()
    return a, b, c


# --- withdraw and supersede ----------------------------------------------------------------------------

def test_handler_withdraws_with_a_reason_and_the_chain_stays_intact(handler, case, upload):
    item = upload(handler, case).json()
    response = handler.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "传错了图"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "withdrawn" and body["withdraw_reason"] == "传错了图" and body["withdrawn_at"]
    assert body["entry_hash"] == item["entry_hash"]  # the addition's entry is untouched
    revocation = EvidenceRevocation.objects.get()
    assert revocation.sequence == 2 and revocation.prev_hash == item["entry_hash"]
    assert EvidenceChain.objects.get(case=case).head_hash == revocation.entry_hash
    assert case.events.filter(kind="evidence_withdrawn", note="传错了图").exists()
    assert verify(handler, case) == {**verify(handler, case), "intact": True, "checked": 2, "first_bad": None}
    # still listed and downloadable: nothing is deleted
    assert handler.get(f"/api/v1/cases/{case.pk}/evidence/").json()["count"] == 1
    assert handler.get(item["download_url"]).status_code == 200


def test_withdraw_needs_a_reason_and_happens_once(handler, supervisor, intake, case, upload):
    item = upload(handler, case).json()
    url = f"/api/v1/evidence/{item['id']}/withdraw/"
    assert_error(handler.post(url, {}, format="json"), 400, attr="reason")
    assert_error(handler.post(url, {"reason": ""}, format="json"), 400, attr="reason")
    assert_error(handler.post(url, {"reason": "x" * 2001}, format="json"), 400, attr="reason")
    assert_error(intake.post(url, {"reason": "mine"}, format="json"), 403)
    assert supervisor.post(url, {"reason": "重复"}, format="json").status_code == 200
    assert_error(handler.post(url, {"reason": "again"}, format="json"), 409, code="evidence_not_active")
    assert EvidenceRevocation.objects.count() == 1


def test_partner_cannot_withdraw(partner, partner_case, upload):
    item = upload(partner, partner_case).json()
    assert_error(partner.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "x"}, format="json"), 403)


def test_a_withdrawn_file_may_be_uploaded_again(handler, case, upload):
    content = png()
    item = upload(handler, case, content).json()
    handler.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "错的时间"}, format="json")
    assert upload(handler, case, content).status_code == 201


def test_supersede_replaces_an_item_with_a_reason(intake, handler, case, upload):
    old = upload(intake, case, png(), kind="chat_log", name="chat1.png").json()
    new = upload(intake, case, png(), kind="chat_log", name="chat2.png", supersedes=old["id"],
                 reason="第一张截图不完整").json()
    assert new["supersedes"] == old["id"]
    old_now = handler.get(f"/api/v1/evidence/{old['id']}/").json()
    assert old_now["status"] == "superseded" and old_now["superseded_by"] == new["id"]
    assert old_now["withdraw_reason"] == "第一张截图不完整"
    result = verify(handler, case)
    assert result["intact"] and result["checked"] == 3
    again = upload(intake, case, png(), kind="chat_log", supersedes=old["id"], reason="again")
    assert_error(again, 409, code="evidence_not_active")


def test_cannot_supersede_another_cases_evidence(handler, case, upload, org, platform):
    other = CaseFactory(organization=org, platform=platform)
    item = upload(handler, other).json()
    assert_error(upload(handler, case, supersedes=item["id"], reason="x"), 400, attr="supersedes")


# --- verify: tampering behind the service's back ----------------------------------------------------------

def test_verify_detects_an_altered_file(handler, case, upload):
    a, b, c = three_items(handler, case, upload)
    assert deep_verify(handler, case)["intact"] is True
    path = Path(settings.MEDIA_ROOT, Evidence.objects.get(pk=b["id"]).file.name)
    path.write_bytes(path.read_bytes() + b"edited")
    assert verify(handler, case)["intact"] is True  # a plain verify/ reports the last file check
    result = deep_verify(handler, case)
    assert result["intact"] is False and result["checked"] == 3
    assert result["first_bad"] == b["id"] and result["first_bad_sequence"] == 2
    assert "altered" in result["problems"][0]["problem"]


def test_verify_detects_a_missing_file(handler, case, upload):
    a, b, c = three_items(handler, case, upload)
    Path(settings.MEDIA_ROOT, Evidence.objects.get(pk=c["id"]).file.name).unlink()
    result = deep_verify(handler, case)
    assert result["first_bad"] == c["id"] and "missing" in result["problems"][0]["problem"]


def test_verify_detects_an_altered_row(handler, case, upload):
    a, b, c = three_items(handler, case, upload)
    Evidence.objects.filter(pk=a["id"]).update(occurred_at=case.purchased_at - timedelta(days=1))
    result = verify(handler, case)
    assert result["intact"] is False and result["first_bad"] == a["id"]


def test_verify_detects_a_rehashed_row_through_the_next_link(handler, case, upload):
    """Even if the forger recomputes the altered entry's own hash, the next entry's link breaks."""
    from evidence import chain, selectors

    a, b, c = three_items(handler, case, upload)
    Evidence.objects.filter(pk=a["id"]).update(description="伪造")
    entry = selectors.entry_of(Evidence.objects.get(pk=a["id"]), case.reference)
    Evidence.objects.filter(pk=a["id"]).update(entry_hash=chain.entry_hash(entry))
    result = verify(handler, case)
    assert result["intact"] is False and result["first_bad"] == b["id"]


def test_verify_detects_a_changed_withdrawal_and_a_deleted_row(handler, case, upload):
    a, b, c = three_items(handler, case, upload)
    handler.post(f"/api/v1/evidence/{b['id']}/withdraw/", {"reason": "原因"}, format="json")
    EvidenceRevocation.objects.update(reason="另一个原因")
    assert verify(handler, case)["first_bad"] == b["id"]
    EvidenceRevocation.objects.update(reason="原因")
    assert verify(handler, case)["intact"] is True
    Evidence.objects.filter(pk=b["id"]).update(status="active")  # un-withdrawn behind our back
    assert verify(handler, case)["first_bad"] == b["id"]
    Evidence.objects.filter(pk=b["id"]).update(status="withdrawn")
    with connection.cursor() as cursor:  # the last entry removed with raw SQL
        cursor.execute("DELETE FROM evidence_evidencerevocation")
    result = verify(handler, case)
    assert result["intact"] is False


def test_verify_of_an_empty_case(handler, case):
    assert verify(handler, case) == {
        "intact": True, "checked": 0, "first_bad": None, "first_bad_sequence": None, "head": "0" * 64, "problems": [],
        "timestamps": {"configured": False, "checked_against_ca": False, "pending": 0, "stamped": 0, "failed": 0,
                       "verified": 0, "head": None},
        "files": {"status": "never_checked", "checked_at": None, "intact": None, "files_checked": 0,
                  "up_to_sequence": 0, "covers_all": True, "problems": [], "pending": None}}


# --- completeness ------------------------------------------------------------------------------------------

def test_completeness_names_what_is_missing_in_chinese_and_english(handler, case, upload):
    url = f"/api/v1/cases/{case.pk}/completeness/"
    body = handler.get(url).json()
    assert body["score"] == 0 and body["complete"] is False
    assert [m["kind"] for m in body["missing"]] == ["order_screenshot", "payment_record", "delivery_record",
                                                     "error_screenshot", "chat_log"]
    assert body["missing"][0]["stage"] == "transaction" and "订单截图" in body["missing"][0]["message"]
    english = handler.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["missing"][0]["message"].startswith("No order screenshot")
    upload(handler, case, pdf(), name="o.pdf", kind="order_screenshot", occurred_at=case.purchased_at)
    upload(handler, case, png(), kind="payment_record", occurred_at=case.purchased_at)
    assert handler.get(url).json()["score"] == 40
    upload(handler, case, png(), kind="delivery_record", occurred_at=case.delivered_at)
    upload(handler, case, MP4 + b"x", name="v.mp4", kind="comparison_video")  # any-of: video is proof too
    item = upload(handler, case, "聊天".encode(), name="c.txt", kind="platform_reply").json()
    body = handler.get(url).json()
    assert (body["score"], body["complete"], body["missing"]) == (100, True, [])
    assert [f["field"] for f in body["facts_missing"]] == ["respondent", "key_redeemed_on_receipt"]
    handler.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "x"}, format="json")
    assert handler.get(url).json()["score"] == 80  # withdrawn evidence does not count


def test_every_dispute_type_has_a_table_row():
    from cases.codes import DisputeType
    from evidence.codes import KIND_STAGE
    from evidence.completeness import REQUIRED

    assert set(REQUIRED) == set(DisputeType.values)
    for requirements in REQUIRED.values():
        assert requirements[0].kinds == ("order_screenshot",)
        for req in requirements:
            assert req.zh and req.en and all(KIND_STAGE[k] == req.stage for k in req.kinds)


# --- timeline ----------------------------------------------------------------------------------------------

def test_timeline_orders_by_occurred_at_and_shows_the_gaps(handler, org, window_platform, upload):
    from django.utils import timezone

    now = timezone.now()
    case = CaseFactory(organization=org, platform=window_platform, purchased_at=now - timedelta(days=10),
                       delivered_at=now - timedelta(days=10) + timedelta(hours=1),
                       problem_found_at=now - timedelta(days=7) + timedelta(hours=1))
    upload(handler, case, png(), kind="chat_log", occurred_at=case.problem_found_at + timedelta(days=8)
           if case.problem_found_at + timedelta(days=8) < now else now - timedelta(minutes=1))
    upload(handler, case, pdf(), name="o.pdf", kind="order_screenshot", occurred_at=case.purchased_at)
    from cases.services import case_event_record

    case_event_record(case=case, actor=None, kind="status_changed", from_status="intake",
                      to_status="collecting_evidence", occurred_at=now - timedelta(days=2))
    body = handler.get(f"/api/v1/cases/{case.pk}/timeline/").json()
    times = [e["occurred_at"] for e in body["events"]]
    assert times == sorted(times)
    codes = [e["code"] for e in body["events"]]
    assert codes[:3] == ["purchased", "order_screenshot", "delivered"]
    assert "problem_found" in codes and "chat_log" in codes and "status_changed" in codes
    gaps = {g["code"]: g for g in body["gaps"]}
    window = gaps["outside_platform_window"]
    assert window["limit_hours"] == 24 and window["hours"] == 72.0
    assert "24" in window["message"]
    assert "problem_evidence_missing" in gaps
    english = handler.get(f"/api/v1/cases/{case.pk}/timeline/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "outside the platform's 24 h" in {g["code"]: g for g in english["gaps"]}["outside_platform_window"][
        "message"]


def test_timeline_flags_late_delivery_and_late_proof(handler, org, platform, upload):
    from django.utils import timezone

    now = timezone.now()
    case = CaseFactory(organization=org, platform=platform, purchased_at=now - timedelta(days=6),
                       delivered_at=now - timedelta(days=3), problem_found_at=now - timedelta(days=3))
    upload(handler, case, png(), kind="error_screenshot", occurred_at=now - timedelta(days=1))
    gaps = {g["code"]: g for g in handler.get(f"/api/v1/cases/{case.pk}/timeline/").json()["gaps"]}
    assert gaps["delivery_late"]["hours"] == 72.0
    assert gaps["evidence_late"]["limit_hours"] == 24
    assert "outside_platform_window" not in gaps


# --- bundle ------------------------------------------------------------------------------------------------

def fetch_bundle(client, case, tmp_path, **params) -> Path:
    response = client.get(f"/api/v1/cases/{case.pk}/bundle/", params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}-bundle.zip"'
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_bundle_has_manifest_files_timeline_and_letter_and_verifies(handler, case, upload, tmp_path):
    a, b, c = three_items(handler, case, upload)
    handler.post(f"/api/v1/evidence/{c['id']}/withdraw/", {"reason": "不相关"}, format="json")
    path = fetch_bundle(handler, case, tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        letter = archive.read("letter.txt").decode()
        timeline = json.loads(archive.read("timeline.json"))
    assert names[0] == "manifest.json" and "timeline.json" in names and "letter.txt" in names
    assert manifest["case"]["reference"] == case.reference
    assert "id_number" not in json.dumps(manifest["case"]) and case.consumer.id_number not in path.read_bytes().decode(
        "utf-8", "replace")
    assert [f["evidence"] for f in manifest["files"]] == [a["id"], b["id"]]  # the withdrawn one stays out
    assert manifest["files"][1]["sha256"] == b["sha256"] and manifest["files"][1]["path"] in names
    assert manifest["chain"]["length"] == 4 and manifest["chain"]["head"] == EvidenceChain.objects.get(
        case=case).head_hash
    assert manifest["letter"] == {"path": "letter.txt", "lang": "zh-hans"}
    assert "事实" in letter and case.order_number in letter and a["sha256"] in letter
    assert timeline["events"] and timeline["reference"] == case.reference
    assert verify_bundle(path)[0] == []
    out = io.StringIO()
    call_command("verify_bundle", str(path), stdout=out)
    assert "OK" in out.getvalue() and manifest["chain"]["head"] in out.getvalue()


def rewrite(path: Path, target: Path, change):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))
    return target


def test_verify_bundle_reports_an_altered_file_and_an_altered_manifest(handler, case, upload, tmp_path):
    a, b, c = three_items(handler, case, upload)
    path = fetch_bundle(handler, case, tmp_path)
    altered = rewrite(path, tmp_path / "altered.zip",
                      lambda name, data: data + b"!" if name.startswith("files/0002") else data)
    problems, _facts = verify_bundle(altered)
    assert any("files/0002" in p and "altered" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("verify_bundle", str(altered), stdout=io.StringIO(), stderr=io.StringIO())

    def forge(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["entries"][0]["description"] = "伪造的说明"
        return json.dumps(manifest).encode()

    problems, _facts = verify_bundle(rewrite(path, tmp_path / "forged.zip", forge))
    assert any(p.startswith("chain entry 1") for p in problems)

    def smuggle(name, data):
        return data
    smuggled = rewrite(path, tmp_path / "smuggled.zip", smuggle)
    with zipfile.ZipFile(smuggled, "a") as archive:
        archive.writestr("../../evil.sh", b"rm -rf /")
    problems, _facts = verify_bundle(smuggled)
    assert any("unsafe path" in p for p in problems) and any("not in the manifest" in p for p in problems)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert "not a readable ZIP" in verify_bundle(tmp_path / "junk.zip")[0][0]


def test_bundle_letter_follows_the_language(handler, case, upload, tmp_path):
    upload(handler, case)
    path = fetch_bundle(handler, case, tmp_path, lang="en")
    with zipfile.ZipFile(path) as archive:
        letter = archive.read("letter.txt").decode()
        assert "1. Facts" in letter and case.order_number in letter
        assert json.loads(archive.read("manifest.json"))["letter"]["lang"] == "en"


def test_partner_gets_the_bundle_of_its_case(partner, partner_case, upload, tmp_path):
    upload(partner, partner_case)
    assert verify_bundle(fetch_bundle(partner, partner_case, tmp_path))[0] == []


# --- admin -------------------------------------------------------------------------------------------------

def test_admin_shows_evidence_inline_read_only_with_preview_and_hash(handler, case, upload, org, other_org,
                                                                    make_user, client):
    from cases.roles import sync_role_group

    item = upload(handler, case).json()
    staff = make_user(Role.SUPERVISOR)
    sync_role_group(staff)
    client.force_login(staff)
    page = client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert item["sha256"] in html and f"/admin/evidence/evidence/{item['id']}/preview/" in html
    preview = client.get(f"/admin/evidence/evidence/{item['id']}/preview/")
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert preview["X-Content-Type-Options"] == "nosniff"
    change = client.get(f"/admin/evidence/evidence/{item['id']}/change/")
    assert change.status_code == 200 and b'name="description"' not in change.content
    assert client.post(f"/admin/evidence/evidence/{item['id']}/delete/").status_code == 403
    assert client.get("/admin/evidence/evidence/add/").status_code == 403
    outsider = make_user(Role.SUPERVISOR, organization=other_org)
    sync_role_group(outsider)
    client.force_login(outsider)
    assert client.get(f"/admin/evidence/evidence/{item['id']}/preview/").status_code == 404


# --- schema ------------------------------------------------------------------------------------------------

def test_openapi_schema_documents_the_evidence_endpoints():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    paths = schema["paths"]
    upload_op = paths["/api/v1/cases/{case_id}/evidence/"]["post"]
    assert {"201", "409", "413", "415"} <= set(upload_op["responses"])
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert "application/zip" in paths["/api/v1/cases/{case_id}/bundle/"]["get"]["responses"]["200"]["content"]
    for path in ("/api/v1/evidence/{id}/", "/api/v1/evidence/{id}/download/", "/api/v1/evidence/{id}/withdraw/",
                 "/api/v1/cases/{case_id}/completeness/", "/api/v1/cases/{case_id}/timeline/",
                 "/api/v1/cases/{case_id}/verify/"):
        assert path in paths


def test_verify_bundle_catches_one_changed_byte_anywhere(handler, case, upload, tmp_path):
    """Change one byte of the downloaded ZIP, at many offsets: verify_bundle always says what is wrong (or,
    for bytes of ZIP bookkeeping no reader looks at, that it still holds up) and never crashes."""
    from django.core.management import CommandError, call_command

    three_items(handler, case, upload)
    original = fetch_bundle(handler, case, tmp_path).read_bytes()
    assert verify_bundle(tmp_path / "bundle.zip")[0] == []
    flagged = 0
    offsets = list(range(0, len(original), max(1, len(original) // 150)))
    for offset in offsets:
        damaged = bytearray(original)
        damaged[offset] ^= 0x01
        path = tmp_path / "damaged.zip"
        path.write_bytes(bytes(damaged))
        problems, _facts = verify_bundle(path)
        flagged += bool(problems)
    assert flagged >= len(offsets) * 0.8  # content, names and headers are all covered
    damaged = bytearray(original)
    damaged[original.index(b"IHDR")] ^= 0x01  # one byte inside an evidence image
    (tmp_path / "one.zip").write_bytes(bytes(damaged))
    problems, _facts = verify_bundle(tmp_path / "one.zip")
    assert any("files/" in p for p in problems), problems
    with pytest.raises(CommandError):
        call_command("verify_bundle", str(tmp_path / "one.zip"))
