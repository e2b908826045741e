"""Helpers every test folder shares: the error-format check, staff signed in to the admin, waiting for a
background effect, and the files an upload test sends. Fixtures stay in the conftest files; factories in
tests/factories.py."""

import hashlib
import io
import os
import time
import uuid
import zipfile
from datetime import timedelta

from django.test import Client
from django.urls import resolve
from django.utils import timezone

from cases.roles import sync_role_group
from kameng_api.core.permissions import required_roles

from .factories import OrganizationFactory, UserFactory

# --- answers ---------------------------------------------------------------------------------------------

ERROR_TYPES = ("validation_error", "client_error", "server_error")


def assert_error(response, status, code=None, attr=None):
    """The documented error format (API.md, "Errors"): the status, JSON, a type, and errors with code,
    detail and attr; `code` and `attr` among them when given. Returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["type"] in ERROR_TYPES, body
    assert body["errors"] and all({"code", "detail", "attr"} <= set(e) for e in body["errors"]), body
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    if attr is not None:
        assert attr in [e["attr"] for e in body["errors"]], body
    return body


def declared_roles(method: str, path: str) -> set[str]:
    """The roles the view behind `path` declares for `method` (its `roles`: rows of the access table)."""
    match = resolve(path)
    view_cls = getattr(match.func, "cls", None) or match.func.view_class
    view = view_cls()
    view.action = (getattr(match.func, "actions", None) or {}).get(method.lower())
    request = type("Request", (), {"method": method.upper()})()
    return set(required_roles(view, request))


# --- requests ------------------------------------------------------------------------------------------

def payload(platform_obj, **overrides):
    """The body of a valid case registration (POST /api/v1/cases/) on `platform_obj`."""
    now = timezone.now()
    data = {
        "platform": platform_obj.pk,
        "merchant_name": "星辰点卡店",
        "order_number": "DD20261101123456",
        "product_type": "game_card",
        "face_value": "100.00",
        "amount_paid": "98.50",
        "payment_channel": "alipay",
        "purchased_at": (now - timedelta(days=2)).isoformat(),
        "delivered_at": (now - timedelta(days=2) + timedelta(minutes=1)).isoformat(),
        "problem_found_at": (now - timedelta(days=1)).isoformat(),
        "dispute_type": "invalid_code",
        "description": "卡密提示已被使用",
        "consumer": {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"},
        "claims": [{"kind": "refund", "amount": "98.50"}],
    }
    data.update(overrides)
    return data


# --- people ----------------------------------------------------------------------------------------------

def staff_user(role, organization=None, **kwargs):
    """A staff member of `role` with the Django group of the role (what the admin's pages read)."""
    kwargs.setdefault("is_staff", True)
    user = UserFactory(role=role, organization=organization or OrganizationFactory(), **kwargs)
    sync_role_group(user)
    return user


def staff_login(role, organization=None, **kwargs):
    """(user, a test client signed in to the admin as that user)."""
    user = staff_user(role, organization, **kwargs)
    client = Client()
    client.force_login(user)
    return user, client


# --- time ------------------------------------------------------------------------------------------------

def wait_for(predicate, timeout: float = 30.0, what: str = "condition", interval: float = 0.2):
    """The predicate's first true value, polled until `timeout` seconds (a worker's effect, a server)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


# --- files -----------------------------------------------------------------------------------------------

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
