"""No consumer's value in clear anywhere at rest (PIPL art. 51; README "Personal data (PIPL)"): a case is run
through intake, reads, a search, a correction, a transition, the letter, webhook deliveries by a real
Celery worker on the broker; then every text column of every table, a pg_dump, the Redis db of this run,
the captured logs, the worker's log and the webhook bodies are searched for the consumer's values."""

import json
import logging
import os
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.codes import Role
from cases.models import Consumer
from notifications.models import Delivery, WebhookEndpoint
from tests.conftest import _client_for
from tests.factories import UserFactory
from tests.notifications.conftest import body_json, receiver, wait_for, workers  # noqa: F401

from .helpers import valid_id

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

NAME = "隐私测试员甲乙"
PHONE = "13998765432"
ID_NUMBER = valid_id("44030519870615123")
ACCOUNT = "6222029876543210777"
NEW_PHONE = "13912344321"
MERCHANT = "隐私测试店"  # not personal data: the control that the searches find what is there


def _forms(value: str) -> set[str]:
    """The value as it could appear: raw, JSON-escaped (\\uXXXX), and URL-encoded."""
    from urllib.parse import quote

    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], quote(value)}


PLAIN = [form for value in (NAME, PHONE, ID_NUMBER, ACCOUNT, NEW_PHONE) for form in _forms(value)]


def _found(text: str, forms=PLAIN) -> list[str]:
    return [form for form in forms if form in text]


def _database_text_hits(forms=PLAIN) -> list[tuple[str, str, str]]:
    """(table, column, form) for every text-like column (JSON included) holding a plain value."""
    hits = []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        columns = [(table, col.name) for table in connection.introspection.table_names(cursor)
                   for col in connection.introspection.get_table_description(cursor, table)]
        for table, column in columns:
            cast = f"{qn(column)}::text" if connection.vendor == "postgresql" else f"CAST({qn(column)} AS TEXT)"
            for form in forms:
                cursor.execute(f"SELECT count(*) FROM {qn(table)} WHERE {cast} LIKE %s", [f"%{form}%"])  # noqa: S608
                if cursor.fetchone()[0]:
                    hits.append((table, column, form))
    return hits


def _redis_text() -> str:
    if not settings.REDIS_URL:
        return ""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(key.decode("utf-8", "replace"))
        kind = client.type(key).decode()
        if kind == "string":
            parts.append((client.get(key) or b"").decode("utf-8", "replace"))
        elif kind == "list":
            parts.extend(v.decode("utf-8", "replace") for v in client.lrange(key, 0, -1))
        elif kind == "hash":
            parts.extend(f"{k!r}{v!r}" for k, v in client.hgetall(key).items())
            parts.extend(v.decode("utf-8", "replace") for v in client.hvals(key))
        elif kind == "set":
            parts.extend(v.decode("utf-8", "replace") for v in client.smembers(key))
        elif kind == "zset":
            parts.extend(v.decode("utf-8", "replace") for v in client.zrange(key, 0, -1))
    text = "\n".join(parts)
    # Celery bodies are base64: decode what decodes.
    import base64
    import re

    for blob in re.findall(r'"body": "([A-Za-z0-9+/=]{8,})"', text):
        try:
            text += "\n" + base64.b64decode(blob).decode("utf-8", "replace")
        except ValueError:
            pass
    return text


def test_a_case_run_end_to_end_leaves_no_plain_personal_value(workers, receiver, org, platform, caplog,  # noqa: F811
                                                              tmp_path):
    caplog.set_level(logging.DEBUG)
    worker = workers.start()
    r = receiver()
    intake = _client_for(UserFactory(organization=org, role=Role.INTAKE))
    handler = _client_for(UserFactory(organization=org, role=Role.HANDLER))
    WebhookEndpoint.objects.create(organization=org, url=r.url, secret="whsec_leak",
                                   events=["case.created", "case.updated", "case.status_changed"])
    now = timezone.now()
    response = intake.post("/api/v1/cases/", {
        "platform": platform.pk, "merchant_name": MERCHANT, "order_number": "PIPL-LEAK-1",
        "product_type": "game_card", "amount_paid": "98.50", "payment_channel": "alipay",
        "purchased_at": (now - timedelta(days=2)).isoformat(), "problem_found_at": (now - timedelta(days=1)).isoformat(),
        "dispute_type": "invalid_code", "description": "卡密无效。",
        "consumer": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "payment_account": ACCOUNT},
        "claims": [{"kind": "refund", "amount": "98.50"}],
    }, format="json", HTTP_IDEMPOTENCY_KEY="leak-test-1")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]

    # reads, a search by phone and by ID number, a correction, a transition, the letter
    detail = handler.get(f"/api/v1/cases/{case_id}/")
    assert detail.json()["consumer"]["phone"] == PHONE  # the service still reads it back
    found = handler.post("/api/v1/privacy/lookup/", {"phone": PHONE}, format="json").json()
    assert [c["id"] for c in found["cases"]] == [case_id]
    found = handler.post("/api/v1/privacy/lookup/", {"id_number": ID_NUMBER.lower()}, format="json").json()
    assert [c["id"] for c in found["cases"]] == [case_id]
    response = handler.patch(f"/api/v1/cases/{case_id}/", {"consumer": {"name": NAME, "phone": NEW_PHONE}},
                             format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    assert handler.post("/api/v1/privacy/lookup/", {"phone": PHONE}, format="json").json()["cases"] == []
    response = handler.post(f"/api/v1/cases/{case_id}/transition/", {"to": "negotiating", "note": "联系商家"},
                            format="json")
    assert response.status_code == 200, response.content
    letter = handler.get(f"/api/v1/cases/{case_id}/letter/", {"channel": "12315"})
    assert letter.status_code == 200 and NAME in letter.content.decode()  # shown to staff, never stored
    bad = handler.patch(f"/api/v1/cases/{case_id}/", {"consumer": {"name": NAME, "phone": "x" + PHONE}},
                        format="json", HTTP_IF_MATCH="*")
    assert bad.status_code == 400 and not _found(bad.content.decode())  # no value echoed in an error

    wait_for(lambda: Delivery.objects.filter(status="sent").count() >= 3, 90, "the webhook deliveries")
    wait_for(lambda: len(r.requests) >= 3, 30, "the webhook bodies")
    assert worker.poll() is None

    # The stored row holds tokens, and reads back.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, id_number, payment_account, phone_index FROM cases_consumer")
        stored = cursor.fetchall()
    assert len(stored) == 1 and all(v.startswith("gAAAAA") for v in stored[0][:4]) and len(stored[0][4]) == 64
    consumer = Consumer.objects.get()
    assert (consumer.name, consumer.phone, consumer.id_number, consumer.payment_account) == (
        NAME, NEW_PHONE, ID_NUMBER, ACCOUNT)

    # Nowhere in clear:
    assert _database_text_hits() == []
    assert ("cases_merchant", "name", MERCHANT) in _database_text_hits([MERCHANT])  # the search does find text
    if connection.vendor == "postgresql" and subprocess.run(["which", "pg_dump"], capture_output=True).returncode == 0:
        db = connection.settings_dict
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432),
             "-U", db["USER"] or "postgres", db["NAME"]],
            capture_output=True, env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}, timeout=120,
        )
        assert dump.returncode == 0, dump.stderr[-500:]
        text = dump.stdout.decode("utf-8", "replace")
        assert "cases_consumer" in text and len(text) > 10_000
        assert _found(text) == [] and _found(text, [MERCHANT]) == [MERCHANT]
    assert _found(_redis_text()) == []
    assert _found("\n".join(rec.getMessage() for rec in caplog.records)) == []
    assert _found(worker.log_path.read_text(encoding="utf-8", errors="replace")) == []
    bodies = [req["body"].decode("utf-8") for req in r.requests]
    assert {body_json(req)["data"]["case"] for req in r.requests} == {case_id}
    assert _found("\n".join(bodies)) == []
    mails = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in workers.email_dir.glob("*"))
    assert _found(mails) == []
