"""Evidence on S3-compatible storage, against a real SeaweedFS S3 gateway started by the test."""

import io
import os
import urllib.error
import urllib.request
import zipfile

import pytest
from django.conf import settings

from evidence import storage
from evidence.models import Evidence
from evidence.uploads import temp_dir
from tests.helpers import MP4, assert_error, pdf, png, sha

pytestmark = [pytest.mark.django_db, pytest.mark.s3]

PART = 5 * 1024 * 1024


@pytest.fixture
def bucket(seaweedfs, settings):
    """Each test its own private bucket; evidence goes there through the project's S3 settings."""
    name = seaweedfs.new_bucket()
    settings.STORAGES = seaweedfs.storages(name)
    settings.EVIDENCE_S3_PART_BYTES = PART
    settings.EVIDENCE_UPLOAD_TEMP_DIR = str(settings.MEDIA_ROOT) + "/evidence-tmp"
    assert storage.is_s3()
    return name


def objects(seaweedfs, bucket) -> dict[str, bytes]:
    client = seaweedfs.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def open_multipart_uploads(seaweedfs, bucket) -> list:
    return seaweedfs.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def nothing_on_local_disk() -> bool:
    media = settings.MEDIA_ROOT
    files = [os.path.join(d, f) for d, _, fs in os.walk(media) for f in fs] if os.path.exists(media) else []
    return not files and not (temp_dir().exists() and any(temp_dir().iterdir()))


def big_mp4(size: int) -> bytes:
    return MP4 + os.urandom(size - len(MP4))


def test_an_upload_lands_in_the_bucket_byte_for_byte_under_a_random_private_name(
        seaweedfs, bucket, intake, case, upload):
    content = png()
    response = upload(intake, case, content, name="激活失败 截图.png")
    assert response.status_code == 201, response.content
    item = Evidence.objects.get(pk=response.json()["id"])
    stored = objects(seaweedfs, bucket)
    assert stored == {item.file.name: content}
    assert item.file.name.startswith("evidence/") and len(item.file.name.split("/")[-1]) >= 40
    assert "激活" not in item.file.name and ".png" not in item.file.name
    assert nothing_on_local_disk()
    with pytest.raises(urllib.error.HTTPError) as anonymous:  # no public read of the object
        urllib.request.urlopen(f"{seaweedfs.endpoint}/{bucket}/{item.file.name}", timeout=5)  # noqa: S310
    assert anonymous.value.code == 403
    assert "X-Amz" not in str(intake.get(f"/api/v1/evidence/{item.pk}/").json())  # no presigned URL handed out


def test_a_large_upload_is_sent_as_a_multipart_upload_while_hashing(seaweedfs, bucket, handler, case, upload):
    content = big_mp4(3 * PART + 12345)
    response = upload(handler, case, content, name="录屏.mp4", kind="comparison_video", declared="video/mp4")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == sha(content) and body["size"] == len(content)
    item = Evidence.objects.get(pk=body["id"])
    head = seaweedfs.client().head_object(Bucket=bucket, Key=item.file.name)
    assert head["ContentLength"] == len(content)
    assert head["ETag"].strip('"').endswith("-4")  # four parts: three full ones and the rest
    assert objects(seaweedfs, bucket)[item.file.name] == content
    assert not open_multipart_uploads(seaweedfs, bucket) and nothing_on_local_disk()

    download = handler.get(f"/api/v1/evidence/{item.pk}/download/")
    assert download.status_code == 200 and download["Content-Length"] == str(len(content))
    assert download["X-Evidence-SHA256"] == sha(content)
    assert b"".join(download.streaming_content) == content


def test_refused_uploads_leave_nothing_in_the_bucket(seaweedfs, bucket, handler, case, upload, settings):
    accepted = upload(handler, case, pdf(), name="order.pdf", kind="order_screenshot",
                      occurred_at=case.purchased_at)
    assert accepted.status_code == 201
    before = objects(seaweedfs, bucket)

    content = png()
    assert upload(handler, case, content).status_code == 201
    assert_error(upload(handler, case, content), 409, "duplicate_evidence")  # the same file again
    assert_error(upload(handler, case, big_mp4(PART + 10), kind="order_screenshot", declared="image/png",
                        occurred_at=case.purchased_at), 415)
    assert_error(upload(handler, case, png(), occurred_at="2999-01-01T00:00:00+08:00"), 400, attr="occurred_at")
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 2 * PART
    assert_error(upload(handler, case, big_mp4(3 * PART), kind="comparison_video", declared="video/mp4"), 413)

    after = objects(seaweedfs, bucket)
    assert len(after) == len(before) + 1  # only the accepted png
    assert not open_multipart_uploads(seaweedfs, bucket)
    assert Evidence.objects.filter(case=case).count() == 2


def test_verify_rehashes_from_the_bucket_and_names_the_altered_object(seaweedfs, bucket, handler, case, upload):
    first = upload(handler, case).json()
    second = upload(handler, case, pdf(), name="order.pdf", kind="order_screenshot",
                    occurred_at=case.purchased_at).json()
    url = f"/api/v1/cases/{case.pk}/verify/"
    assert handler.get(url).json()["intact"] is True
    name = Evidence.objects.get(pk=second["id"]).file.name
    seaweedfs.client().put_object(Bucket=bucket, Key=name, Body=b"%PDF-1.4 altered in the bucket")
    # verify/ answers from the chain and the last background re-hash; ?deep=true queues one (run here)
    from evidence.models import FileCheck
    from evidence.services import file_check_run

    assert handler.get(url + "?deep=true").status_code == 202
    assert file_check_run(check_id=FileCheck.objects.get(case=case, status="queued").pk) == "done"
    report = handler.get(url).json()
    assert report["intact"] is False and report["first_bad"] == second["id"]
    assert first["id"] != report["first_bad"]


def test_the_bundle_streams_the_files_from_the_bucket(seaweedfs, bucket, handler, case, upload, tmp_path):
    big = big_mp4(2 * PART + 99)
    upload(handler, case, big, name="录屏.mp4", kind="comparison_video", declared="video/mp4")
    small = png()
    upload(handler, case, small)
    response = handler.get(f"/api/v1/cases/{case.pk}/bundle/")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if n.startswith("files/")}
    assert sorted(files.values(), key=len) == [small, big]
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    from evidence.bundle import verify_bundle

    problems, facts = verify_bundle(str(path))
    assert problems == [] and facts


def test_an_unreachable_object_store_is_a_503_and_writes_nothing(seaweedfs, bucket, handler, case, upload, settings):
    stored = seaweedfs.storages(bucket)
    stored["default"]["OPTIONS"]["endpoint_url"] = "http://127.0.0.1:1"
    settings.STORAGES = stored
    handler.raise_request_exception = False  # a 5xx is reported like any server error; the answer is what counts
    response = upload(handler, case, big_mp4(PART + 100), kind="comparison_video", declared="video/mp4")
    assert_error(response, 503, "storage_unavailable")
    small = upload(handler, case, png())
    assert_error(small, 503, "storage_unavailable")
    assert not Evidence.objects.filter(case=case).exists()
    settings.STORAGES = seaweedfs.storages(bucket)
    assert objects(seaweedfs, bucket) == {}


def test_the_storage_command_creates_the_bucket_and_aborts_abandoned_uploads(seaweedfs, settings):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    name = f"kameng-new-{os.urandom(4).hex()}"
    settings.STORAGES = seaweedfs.storages(name)
    with pytest.raises(CommandError):
        call_command("evidence_storage", stdout=io.StringIO())
    out = io.StringIO()
    call_command("evidence_storage", "--create-bucket", stdout=out)
    assert f"created bucket {name}" in out.getvalue() and "evidence storage ok (S3)" in out.getvalue()

    client = seaweedfs.client()
    client.create_multipart_upload(Bucket=name, Key="evidence/ab/abandoned")  # a node died mid-upload
    out = io.StringIO()
    call_command("evidence_storage", "--abort-older-than", "0", stdout=out)
    assert "aborted 1 abandoned multipart upload(s)" in out.getvalue()
    assert not open_multipart_uploads(seaweedfs, name) and objects(seaweedfs, name) == {}


def test_the_storage_command_finds_objects_no_row_names_and_never_touches_evidence(
        seaweedfs, bucket, handler, case, upload):
    from django.core.management import call_command

    kept = upload(handler, case).json()
    client = seaweedfs.client()
    client.put_object(Bucket=bucket, Key="evidence/zz/left-by-a-dead-node", Body=b"orphan")
    out = io.StringIO()
    call_command("evidence_storage", "--unreferenced-older-than", "0", stdout=out)
    assert "unreferenced: evidence/zz/left-by-a-dead-node (6 bytes)" in out.getvalue()
    assert "1 unreferenced object(s)" in out.getvalue()
    assert len(objects(seaweedfs, bucket)) == 2  # listed only
    call_command("evidence_storage", "--unreferenced-older-than", "0", "--delete", stdout=io.StringIO())
    name = Evidence.objects.get(pk=kept["id"]).file.name
    assert set(objects(seaweedfs, bucket)) == {name}
    assert handler.get(f"/api/v1/cases/{case.pk}/verify/").json()["intact"] is True
