import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.models import CaseEvent
from evidence import chain
from evidence.models import Evidence, EvidenceChain
from evidence.uploads import temp_dir
from tests.helpers import MP4, assert_error, multipart, pdf, png, sha, zip_bytes

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def leftover_temp_files() -> list[Path]:
    directory = temp_dir()
    return list(directory.glob("upload-*")) if directory.exists() else []


def test_intake_uploads_a_screenshot_hashed_and_stored_under_a_random_name(intake, case, upload):
    content = png()
    response = upload(intake, case, content, name="激活失败 截图.png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == sha(content)
    assert body["size"] == len(content)
    assert body["content_type"] == "image/png"
    assert body["kind"] == "error_screenshot" and body["stage"] == "problem"
    assert body["original_name"] == "激活失败 截图.png"
    assert body["status"] == "active" and body["sequence"] == 1
    assert body["prev_hash"] == chain.GENESIS
    assert body["uploaded_by"].startswith("user:")
    assert response["Location"] == f"/api/v1/evidence/{body['id']}/"
    item = Evidence.objects.get(pk=body["id"])
    name = item.file.name
    assert "激活" not in name and ".png" not in name
    assert len(name.split("/")[-1]) >= 40
    assert Path(settings.MEDIA_ROOT, name).read_bytes() == content
    assert not leftover_temp_files()
    assert list(case.events.filter(kind="evidence_added").values_list("data__evidence", flat=True)) == [item.pk]
    head = EvidenceChain.objects.get(case=case)
    assert head.length == 1 and head.head_hash == item.entry_hash


def test_each_upload_extends_the_chain(handler, case, upload):
    first = upload(handler, case).json()
    second = upload(handler, case, pdf(), name="order.pdf", kind="order_screenshot",
                    occurred_at=case.purchased_at).json()
    assert second["sequence"] == 2 and second["prev_hash"] == first["entry_hash"]


def test_list_and_detail(handler, case, upload):
    created = upload(handler, case).json()
    listed = handler.get(f"/api/v1/cases/{case.pk}/evidence/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == created["id"]
    assert handler.get(f"/api/v1/evidence/{created['id']}/").json()["sha256"] == created["sha256"]


# --- roles and organizations --------------------------------------------------------------------------

def test_anonymous_is_401_everywhere(anon, case, upload):
    for url in (f"/api/v1/cases/{case.pk}/evidence/", f"/api/v1/cases/{case.pk}/completeness/",
                f"/api/v1/cases/{case.pk}/timeline/", f"/api/v1/cases/{case.pk}/verify/",
                f"/api/v1/cases/{case.pk}/bundle/", "/api/v1/evidence/1/", "/api/v1/evidence/1/download/"):
        assert_error(anon.get(url), 401)
    assert_error(upload(anon, case), 401)


def test_analyst_is_403(analyst, handler, case, upload):
    item = upload(handler, case).json()
    for url in (f"/api/v1/cases/{case.pk}/evidence/", f"/api/v1/cases/{case.pk}/completeness/",
                f"/api/v1/cases/{case.pk}/timeline/", f"/api/v1/cases/{case.pk}/verify/",
                f"/api/v1/cases/{case.pk}/bundle/", f"/api/v1/evidence/{item['id']}/",
                f"/api/v1/evidence/{item['id']}/download/"):
        assert_error(analyst.get(url), 403)
    assert_error(upload(analyst, case), 403)
    assert_error(analyst.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "x"}, format="json"), 403)


def test_another_organizations_evidence_is_404_by_id_download_and_path(handler, other_org_handler, case, upload,
                                                                        client):
    item = upload(handler, case).json()
    stored = Evidence.objects.get(pk=item["id"]).file.name
    for url in (f"/api/v1/evidence/{item['id']}/", f"/api/v1/evidence/{item['id']}/download/",
                f"/api/v1/cases/{case.pk}/evidence/", f"/api/v1/cases/{case.pk}/verify/",
                f"/api/v1/cases/{case.pk}/completeness/", f"/api/v1/cases/{case.pk}/timeline/",
                f"/api/v1/cases/{case.pk}/bundle/"):
        assert_error(other_org_handler.get(url), 404)
    assert_error(other_org_handler.post(f"/api/v1/evidence/{item['id']}/withdraw/", {"reason": "x"},
                                        format="json"), 404)
    assert_error(upload(other_org_handler, case), 404)
    # Media is never served publicly: the storage path (even guessed right) is not a URL.
    for path in (f"/media/{stored}", f"/{stored}", f"/static/../media/{stored}"):
        assert client.get(path).status_code == 404
    assert Evidence.objects.count() == 1


def test_huge_ids_are_404(handler):
    assert handler.get("/api/v1/evidence/99999999999999999999999/").status_code == 404
    assert handler.get("/api/v1/cases/99999999999999999999999/evidence/").status_code == 404
    assert_error(handler.get("/api/v1/evidence/999999999999999999/"), 404)


def test_partner_uploads_to_its_own_filed_case_only(partner, partner_case, case, upload):
    assert upload(partner, partner_case).status_code == 201
    assert Evidence.objects.get().uploaded_by_label.startswith("api-key:")
    assert_error(upload(partner, case), 404)  # staff-filed case of the same organization


def test_partner_retry_with_idempotency_key_is_replayed(partner, partner_case, upload):
    content = png()
    first = upload(partner, partner_case, content, headers={"HTTP_IDEMPOTENCY_KEY": "ev-1"})
    again = upload(partner, partner_case, content, headers={"HTTP_IDEMPOTENCY_KEY": "ev-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Evidence.objects.count() == 1
    assert not leftover_temp_files()


# --- bad input and hostile files ------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "attr"), [
    ({"kind": "selfie"}, "kind"),
    ({"kind": None}, "kind"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": None}, "occurred_at"),
    ({"description": "长" * 2001}, "description"),
    ({"supersedes": "abc", "reason": "x"}, "supersedes"),
    ({"supersedes": "99999999999999999999999", "reason": "x"}, "supersedes"),
    ({"supersedes": "424242", "reason": "wrong"}, "supersedes"),
    ({"supersedes": "1"}, "reason"),
])
def test_bad_fields_are_400_and_store_nothing(handler, case, upload, fields, attr):
    base = {"kind": "error_screenshot", "occurred_at": (case.problem_found_at + timedelta(minutes=1)).isoformat()}
    base.update(fields)
    body, content_type = multipart(base, ("a.png", png(), "image/png"))
    response = handler.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type)
    assert_error(response, 400, attr=attr)
    assert Evidence.objects.count() == 0 and not stored_files() and not leftover_temp_files()


def test_missing_file_and_json_body_are_400(handler, case):
    url = f"/api/v1/cases/{case.pk}/evidence/"
    body, content_type = multipart({"kind": "chat_log", "occurred_at": timezone.now().isoformat()})
    assert_error(handler.post(url, data=body, content_type=content_type), 400, attr="file")
    response = handler.post(url, {"kind": "chat_log", "file": "aGVsbG8="}, format="json")
    assert response.status_code in (400, 415)


def test_empty_file_is_400(handler, case, upload):
    assert_error(upload(handler, case, b""), 400, attr="file")
    assert Evidence.objects.count() == 0 and not leftover_temp_files()


def test_occurred_in_the_future_or_before_the_purchase_is_400(handler, case, upload):
    assert_error(upload(handler, case, occurred_at=timezone.now() + timedelta(hours=1)), 400, attr="occurred_at")
    assert_error(upload(handler, case, occurred_at=case.purchased_at - timedelta(days=1)), 400, attr="occurred_at")
    assert Evidence.objects.count() == 0 and not stored_files()
    # Platform rules may be older than the order.
    response = upload(handler, case, pdf(), name="规则.pdf", kind="platform_rules",
                      occurred_at=case.purchased_at - timedelta(days=300))
    assert response.status_code == 201, response.content


def test_over_the_limit_is_413_while_streaming_and_leaves_nothing(handler, case, upload, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 200_000
    response = upload(handler, case, png() + os.urandom(300_000))
    assert_error(response, 413, code="file_too_large")
    assert Evidence.objects.count() == 0 and not stored_files() and not leftover_temp_files()
    assert upload(handler, case, png() + os.urandom(100_000)).status_code == 201


def test_over_the_limit_without_a_content_length_header_is_stopped_in_the_stream(handler, case, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 50_000
    from evidence.uploads import EvidenceUploadHandler
    from kameng_api.core.exceptions import PayloadTooLarge

    handler_obj = EvidenceUploadHandler()
    handler_obj.new_file("file", "x.png", "image/png", None)
    handler_obj.receive_data_chunk(b"\x89PNG" + b"a" * 40_000, 0)
    with pytest.raises(PayloadTooLarge):
        handler_obj.receive_data_chunk(b"a" * 20_000, 40_004)
    assert not leftover_temp_files()


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("photo.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(200), "error_screenshot"),  # exe named jpg
    ("evidence.zip", zip_bytes(), "other"),                                      # any zip
    ("bomb.png", zip_bytes(b"\x00" * 5_000_000), "error_screenshot"),            # zip bomb with an image name
    ("chat.txt", b"hello\x00\x01\x02binary", "chat_log"),                       # NUL bytes: not text
    ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "other"),
    ("page.html", b"<html><body>hi</body></html>", "comparison_video"),         # HTML is not a video
    ("shot.png", MP4, "order_screenshot"),                                       # video is not a screenshot here
    ("data.bin", os.urandom(4096), "other"),                                    # unknown binary
])
def test_disallowed_types_are_415_judged_from_the_bytes(handler, case, upload, name, content, kind):
    response = upload(handler, case, content, name=name, kind=kind, declared="image/png")
    assert_error(response, 415, code="file_type_not_allowed")
    assert Evidence.objects.count() == 0 and not stored_files() and not leftover_temp_files()


def test_wrong_extension_is_corrected_to_the_sniffed_type(handler, case, upload):
    body = upload(handler, case, png(), name="invoice.exe", declared="application/x-msdownload").json()
    assert body["content_type"] == "image/png" and body["original_name"] == "invoice.png"
    body = upload(handler, case, pdf(), name="scan.png", kind="payment_record").json()
    assert body["content_type"] == "application/pdf" and body["original_name"] == "scan.pdf"


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows\\win.ini.png", "win.ini.png"),
    ("/abs/path/shot.png", "shot.png"),
    ("....png", "png.png"),
    ("%2e%2e%2fsecret.png", "_2e_2e_2fsecret.png"),
    ("evil\u202egnp.exe", "evilgnp.png"),
    ("CON.png", "_CON.png"),
    ("a<script>b.png", "a_script_b.png"),
    ("x" * 300 + ".png", "x" * 100 + ".png"),
    (".hidden.png", "hidden.png"),
])
def test_path_traversal_and_hostile_names_are_sanitized(handler, case, upload, name, expected):
    response = upload(handler, case, name=name)
    assert response.status_code == 201, response.content
    assert response.json()["original_name"] == expected
    item = Evidence.objects.get()
    path = Path(settings.MEDIA_ROOT, item.file.name).resolve()
    assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "evidence")


def test_html_with_script_is_kept_but_only_ever_downloaded_as_an_attachment(handler, case, upload):
    html = "<!DOCTYPE html><html><body><p>商家：保证可用</p><script>alert(document.cookie)</script></body></html>"
    body = upload(handler, case, html.encode(), name="chat.html", kind="chat_log", declared="text/html").json()
    assert body["content_type"] == "text/html; charset=utf-8"
    response = handler.get(body["download_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == html.encode()


@pytest.mark.parametrize(("content", "expected"), [
    ('{"messages": [{"from": "商家", "text": "24小时内补发"}]}'.encode(), "application/json; charset=utf-8"),
    (b"[1, 2]", "application/json; charset=utf-8"),
    ("2026-11-01 10:00 商家：稍等\n2026-11-01 12:00 我：还没到账\n".encode(), "text/plain; charset=utf-8"),
    ("商家：卡密保证可用".encode("gb18030"), "text/plain; charset=gb18030"),
    (b'{"broken": ', "text/plain; charset=utf-8"),
])
def test_chat_exports_are_recognised_as_text_json(handler, case, upload, content, expected):
    body = upload(handler, case, content, name="chat.txt", kind="chat_log", declared="text/plain").json()
    assert body["content_type"] == expected


def test_video_and_pdf_are_accepted_for_their_kinds(handler, case, upload):
    assert upload(handler, case, MP4 + os.urandom(64), name="对比.mp4", kind="comparison_video").json()[
        "content_type"] == "video/mp4"
    assert upload(handler, case, pdf(), name="bank.pdf", kind="bank_statement").json()[
        "content_type"] == "application/pdf"


def test_the_same_file_twice_in_a_case_is_409(handler, case, other_case, upload, user_client, other_org):
    content = png()
    first = upload(handler, case, content).json()
    body = assert_error(upload(handler, case, content, name="again.png"), 409, code="duplicate_evidence")
    assert f"#{first['id']}" in body["errors"][0]["detail"]
    assert Evidence.objects.count() == 1 and len(stored_files()) == 1 and not leftover_temp_files()
    # Another case may hold the same file.
    from kameng_api.core.roles import Role
    assert upload(user_client(Role.HANDLER, other_org), other_case, content).status_code == 201


def test_closed_case_takes_no_evidence(handler, case, upload):
    case.status = "resolved"
    case.save(update_fields=["status"])
    assert_error(upload(handler, case), 409, code="case_closed")
    assert not stored_files()


# --- immutability -----------------------------------------------------------------------------------------

def test_evidence_cannot_be_edited_or_deleted(handler, case, upload):
    item = Evidence.objects.get(pk=upload(handler, case).json()["id"])
    item.description = "changed"
    with pytest.raises(ValidationError):
        item.save()
    with pytest.raises(ValidationError):
        item.save(update_fields=["description"])
    with pytest.raises(ValidationError):
        item.delete()
    with pytest.raises(ValidationError):
        Evidence.objects.filter(pk=item.pk).delete()
    assert Evidence.objects.get(pk=item.pk).description == "激活失败"


def test_no_http_method_edits_or_deletes(handler, case, upload):
    item = upload(handler, case).json()
    for method in ("put", "patch", "delete"):
        response = getattr(handler, method)(f"/api/v1/evidence/{item['id']}/", {"description": "x"}, format="json")
        assert response.status_code in (403, 405)  # no role may edit; not routed at all
    assert CaseEvent.objects.filter(kind="evidence_added").count() == 1
