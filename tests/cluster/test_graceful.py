"""Graceful shutdown of a web node: SIGTERM in the middle of an upload lets the upload finish (and be
stored), while the node takes no new connection and then exits cleanly."""

import hashlib
import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from evidence.models import Evidence
from kameng_api.core.roles import Role
from kameng_api.core.tokens import token_issue
from tests.factories import CaseFactory, UserFactory

from .nodes import node_env, request, start_web, wait_ready
from .test_cluster import PDF, multipart

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PORT = 8882


def test_sigterm_lets_the_upload_in_progress_finish(real_postgres, org, tmp_path):
    user = UserFactory(organization=org, role=Role.HANDLER)
    token = token_issue(user=user)[1]
    case = CaseFactory(organization=org)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    media = tmp_path / "media"
    env = node_env(url, REDIS_URL=settings.REDIS_URL, DJANGO_MEDIA_ROOT=str(media), GUNICORN_GRACEFUL_TIMEOUT="20")
    web = start_web("web-graceful", PORT, env, tmp_path, workers=1)
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_ready(base, web)
        content = PDF + os.urandom(4 * 1024 * 1024)
        occurred = (case.purchased_at + timedelta(minutes=1)).isoformat()
        head, data, tail, content_type = multipart(
            {"kind": "order_screenshot", "occurred_at": occurred, "description": "订单"}, content)
        started, resume, answer = threading.Event(), threading.Event(), {}

        def body():
            yield head
            yield data[: len(data) // 2]
            started.set()
            resume.wait(30)
            yield data[len(data) // 2:]
            yield tail

        def send():
            import http.client

            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            conn.request("POST", f"/api/v1/cases/{case.pk}/evidence/", body=body(), headers={
                "Authorization": f"Token {token}", "Content-Type": content_type,
                "Content-Length": str(len(head) + len(data) + len(tail))})
            response = conn.getresponse()
            answer["status"], answer["body"] = response.status, response.read()

        sender = threading.Thread(target=send)
        sender.start()
        assert started.wait(30)
        time.sleep(0.5)
        os.killpg(web.proc.pid, signal.SIGTERM)
        time.sleep(1.5)
        with pytest.raises(OSError):  # no new connection once shutting down
            request("GET", f"{base}/livez", timeout=3)
        assert web.alive()  # still finishing the upload
        resume.set()
        sender.join(30)
        assert answer.get("status") == 201, answer
        item = Evidence.objects.get(case=case)
        assert item.sha256 == hashlib.sha256(content).hexdigest()
        assert (media / item.file.name).read_bytes() == content
        assert web.proc.wait(timeout=20) == 0
    finally:
        web.stop()
