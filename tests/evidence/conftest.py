import hashlib
import io
import os
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from kameng_api.core.roles import Role
from tests.factories import CaseFactory, PlatformFactory

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def png(tag: str = "") -> bytes:
    """A distinct PNG each time (a different SHA-256)."""
    return PNG + (tag or uuid.uuid4().hex).encode() + os.urandom(16)


def pdf() -> bytes:
    return PDF + f"% {uuid.uuid4().hex}\n".encode()


def zip_bytes(payload: bytes = b"0" * 100_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", payload)
    return buffer.getvalue()


def multipart(fields: dict, file: tuple[str, bytes, str] | None = None, field_name: str = "file"):
    """A raw multipart body (so file names reach the server exactly as a hostile client sends them)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if file is not None:
        filename, content, declared = file
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                     f'filename="{filename}"\r\nContent-Type: {declared}\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def case(org, platform):
    return CaseFactory(organization=org, platform=platform)


@pytest.fixture
def other_case(other_org):
    return CaseFactory(organization=other_org)


@pytest.fixture
def partner_case(org, partner_key):
    return CaseFactory(organization=org, filed_by_key=partner_key[0])


@pytest.fixture
def other_org_handler(user_client, other_org):
    return user_client(Role.HANDLER, other_org)


@pytest.fixture
def upload():
    def do(client, case, content=None, name="截图.png", kind="error_screenshot", occurred_at=None,
           description="激活失败", declared="image/png", headers=None, **extra):
        when = occurred_at or (case.problem_found_at + timedelta(minutes=10))
        fields = {"kind": kind, "occurred_at": when.isoformat() if hasattr(when, "isoformat") else when,
                  "description": description, **extra}
        body, content_type = multipart(fields, (name, png() if content is None else content, declared))
        return client.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type,
                           **(headers or {}))

    return do


@pytest.fixture
def window_platform(db):
    return PlatformFactory(complaint_window_hours=24)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test its own storage, so leftovers of one test never hide or fake another's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
