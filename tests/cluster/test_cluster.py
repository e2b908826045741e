"""Several machines on one: two gunicorn web nodes, two Celery workers and two beats, sharing one PostgreSQL
(this run's test database), one Redis (broker and cache) and SeaweedFS (evidence on S3). Partner traffic is
spread over both nodes, idempotent retries go to the other node, deadlines pass during the run, and one
web node (in the middle of an upload) and one worker are killed with SIGKILL. Afterwards: every case once,
every upload in the bucket byte for byte and nothing else there, every alert once per channel at the
webhook receiver and the SMTP sink, the chain of every case intact.

Two beats, not one beat behind a lock: every periodic task is safe to run twice (an alert is unique per
deadline, tier and due date; a delivery per dedupe key and claimed with SKIP LOCKED; the statistics refresh
runs under a row lock), so a second beat costs a few duplicate queries and removes the single point of
failure, with no lock whose expiry could drop or double a run."""

import hashlib
import http.client
import json
import os
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Case
from cases.services import api_key_create
from escalation.models import Deadline
from evidence.models import Evidence
from kameng_api.core.roles import Role
from notifications.models import Alert, Delivery, WebhookEndpoint
from tests.conftest import require
from tests.factories import OrganizationFactory, PlatformFactory, UserFactory
from tests.notifications.conftest import Receiver

from .nodes import node_env, request, start_beat, start_web, start_worker, wait_for, wait_ready
from .sinks import SMTPSink

pytestmark = [pytest.mark.cluster, pytest.mark.worker, pytest.mark.postgres, pytest.mark.s3,
              pytest.mark.django_db(transaction=True)]

WEB_PORTS = (8880, 8881)
CASES = 10
DUE_IN = 12  # seconds from creation until each case's evidence-preservation clock runs out
MiB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def case_payload(platform_id: int, i: int, tag: str) -> dict:
    now = timezone.now()
    return {
        "platform": platform_id, "merchant_name": "星辰点卡店", "order_number": f"CL-{tag}-{i:03d}",
        "product_type": "game_card", "face_value": "100.00", "amount_paid": "98.50", "payment_channel": "alipay",
        "purchased_at": (now - timedelta(days=2)).isoformat(),
        "delivered_at": (now - timedelta(days=2) + timedelta(minutes=1)).isoformat(),
        # Found 24 h minus DUE_IN seconds ago: the 24-hour preservation clock (seed 004) passes during the run.
        "problem_found_at": (now - timedelta(hours=24) + timedelta(seconds=DUE_IN)).isoformat(),
        "dispute_type": "invalid_code", "description": "卡密提示已被使用",
        "consumer": {"name": "张三", "phone": "13812345678"},
        "claims": [{"kind": "refund", "amount": "98.50"}],
    }


def pdf_file(size: int) -> bytes:
    head = PDF + f"% {uuid.uuid4().hex}\n".encode()
    return head + os.urandom(max(0, size - len(head)))


def multipart(fields: dict, content: bytes) -> tuple[bytes, bytes, bytes, str]:
    boundary = uuid.uuid4().hex
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="订单.pdf"\r\n'
             "Content-Type: application/pdf\r\n\r\n").encode()
    return head, content, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Partner:
    """A partner app behind a load balancer: requests alternate between the nodes; a node that does not
    answer is taken out, and the request is retried on the other node with the same Idempotency-Key."""

    def __init__(self, raw_key: str):
        self.auth = {"Authorization": f"Api-Key {raw_key}"}
        self.up = [f"http://127.0.0.1:{port}" for port in WEB_PORTS]
        self.served = Counter()
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body, headers: dict, prefer: int) -> tuple[int, dict, dict]:
        for attempt in range(6):
            with self.lock:
                nodes = list(self.up)
            base = nodes[(prefer + attempt) % len(nodes)]
            try:
                status, answer_headers, raw = request(method, base + path, body, {**self.auth, **headers})
            except OSError:
                with self.lock:
                    if base in self.up and len(self.up) > 1:
                        self.up.remove(base)
                continue
            if status == 409 and b"idempotency_in_progress" in raw:
                time.sleep(1)  # the first attempt's node died while it held the key: retry after it goes stale
                continue
            with self.lock:
                self.served[base] += 1
            return status, answer_headers, json.loads(raw or b"{}")
        raise AssertionError(f"{method} {path}: no node answered")

    def create_case(self, payload: dict, key: str, node: int):
        return self.call("POST", "/api/v1/cases/", payload, {"Idempotency-Key": key}, node)

    def upload(self, case_id: int, content: bytes, key: str, node: int, occurred_at: str):
        head, data, tail, content_type = multipart(
            {"kind": "order_screenshot", "occurred_at": occurred_at, "description": "订单截图"}, content)
        return self.call("POST", f"/api/v1/cases/{case_id}/evidence/", head + data + tail,
                         {"Idempotency-Key": key, "Content-Type": content_type}, node)


def slow_upload(port: int, auth: dict, case_id: int, content: bytes, key: str, occurred_at: str,
                sent_enough: threading.Event, resume: threading.Event) -> None:
    """Sends the first 10 MB of an upload, then waits (the node is killed meanwhile)."""
    head, data, tail, content_type = multipart(
        {"kind": "order_screenshot", "occurred_at": occurred_at, "description": "订单截图"}, content)

    def body():
        yield head
        yield data[: 10 * MiB]
        sent_enough.set()
        resume.wait(60)
        yield data[10 * MiB:]
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", f"/api/v1/cases/{case_id}/evidence/", body=body(), headers={
            **auth, "Idempotency-Key": key, "Content-Type": content_type,
            "Content-Length": str(len(head) + len(data) + len(tail))})
        conn.getresponse().read()
    except OSError:
        pass  # the node died under it
    finally:
        conn.close()


@pytest.fixture
def cluster_env(transactional_db, real_postgres, seaweedfs, tmp_path):
    require(bool(settings.REDIS_URL), "REDIS_URL is not set: no Redis for the cluster")
    from kameng_api.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    bucket = seaweedfs.new_bucket("cluster")
    smtp = SMTPSink()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = node_env(url, REDIS_URL=settings.REDIS_URL, KAMENG_TEST_SMTP_PORT=str(smtp.port),
                   KAMENG_TEST_FAST_BEAT="1", KAMENG_IDEMPOTENCY_STALE_SECONDS="4",
                   KAMENG_DELIVERY_SWEEP_GRACE="2", KAMENG_DELIVERY_BACKOFF_BASE="1",
                   KAMENG_WEBHOOK_TIMEOUT="5", GUNICORN_GRACEFUL_TIMEOUT="5",
                   CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT="2", THROTTLE_ANON="6/min", **seaweedfs.env(bucket))
    yield env, bucket, smtp
    smtp.close()


def test_two_nodes_two_workers_two_beats_keep_every_promise(cluster_env, seaweedfs, tmp_path):
    env, bucket, smtp = cluster_env
    org = OrganizationFactory()
    UserFactory(organization=org, role=Role.SUPERVISOR, email="supervisor@cluster.example.cn")
    platform = PlatformFactory(complaint_window_hours=720)  # its window clock stays far off
    _key, raw_key = api_key_create(organization=org, name="维权小程序")
    receiver = Receiver()
    WebhookEndpoint.objects.create(organization=org, url=receiver.url, secret="whsec_cluster", events=[
        "deadline.due_soon", "deadline.overdue", "deadline.late", "deadline.very_late"])

    procs = []
    for i, port in enumerate(WEB_PORTS):
        media = tmp_path / f"media-web{i + 1}"
        procs.append(start_web(f"web{i + 1}", port, {**env, "DJANGO_MEDIA_ROOT": str(media)}, tmp_path,
                               workers=2 if i == 0 else 1))
    workers = [start_worker(f"worker{i}", {**env, "DJANGO_MEDIA_ROOT": str(tmp_path / f"media-w{i}")}, tmp_path)
               for i in (1, 2)]
    beats = [start_beat(f"beat{i}", env, tmp_path) for i in (1, 2)]
    web1, web2 = procs
    try:
        for proc, port in zip(procs, WEB_PORTS, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=90)
        for worker in workers:
            wait_for(lambda w=worker: "ready" in w.log() or not w.alive(), 90, f"{worker.name} to start")
            assert worker.alive(), worker.log()[-3000:]

        # Throttle counters live in the shared cache: anonymous requests alternating between the nodes are
        # counted together (THROTTLE_ANON=6/min), not six per node.
        answers = [request("POST", f"http://127.0.0.1:{WEB_PORTS[n % 2]}/api/v1/auth/token/",
                           {"username": "nobody", "password": "wrong-password"})[0] for n in range(8)]
        assert 429 in answers and answers.index(429) <= 6, answers

        partner = Partner(raw_key)
        tag = uuid.uuid4().hex[:6]
        sent: dict[int, bytes] = {}  # case id -> the file uploaded for it
        case_ids: list[int] = []

        def one_case(i: int) -> None:
            payload = case_payload(platform.pk, i, tag)
            status, _, body = partner.create_case(payload, f"case-{tag}-{i}", node=i)
            assert status == 201, body
            if i % 3 == 0:  # the answer was lost: the same request again, through the other node
                again_status, again_headers, again = partner.create_case(payload, f"case-{tag}-{i}", node=i + 1)
                assert (again_status, again["id"]) == (201, body["id"]), again
                assert again_headers.get("Idempotent-Replayed") == "true"
            content = pdf_file(9 * MiB if i % 4 == 0 else 200_000 + i)
            status, _, item = partner.upload(body["id"], content, f"ev-{tag}-{i}", node=i + 1,
                                             occurred_at=payload["purchased_at"])
            assert status == 201, item
            if i % 3 == 1:
                again_status, again_headers, again = partner.upload(body["id"], content, f"ev-{tag}-{i}",
                                                                    node=i, occurred_at=payload["purchased_at"])
                assert (again_status, again["id"]) == (201, item["id"]), again
                assert again_headers.get("Idempotent-Replayed") == "true"
            assert item["sha256"] == hashlib.sha256(content).hexdigest()
            sent[body["id"]] = content
            case_ids.append(body["id"])

        threads = [threading.Thread(target=one_case, args=(i,)) for i in range(CASES // 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

        # web1 dies in the middle of an upload; the partner retries the same request on web2.
        payload = case_payload(platform.pk, 99, tag)
        status, _, victim = partner.create_case(payload, f"case-{tag}-99", node=1)
        assert status == 201
        big = pdf_file(20 * MiB)
        sent_enough, resume = threading.Event(), threading.Event()
        uploader = threading.Thread(target=slow_upload, args=(
            WEB_PORTS[0], partner.auth, victim["id"], big, f"ev-{tag}-99", payload["purchased_at"], sent_enough,
            resume))
        uploader.start()
        assert sent_enough.wait(30)
        time.sleep(0.5)
        web1.kill()
        resume.set()
        uploader.join(30)
        status, _, item = partner.upload(victim["id"], big, f"ev-{tag}-99", node=0,
                                         occurred_at=payload["purchased_at"])
        assert status == 201, item
        sent[victim["id"]] = big
        case_ids.append(victim["id"])

        # The rest of the traffic, with web1 gone (the partner's balancer noticed it).
        threads = [threading.Thread(target=one_case, args=(i,)) for i in range(CASES // 2, CASES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(case_ids) == CASES + 1

        # The first alerts (due within 2 hours) are out; then worker1 dies while the rest is delivered.
        wait_for(lambda: Delivery.objects.filter(status="sent").exists(), 60, "the first deliveries")
        workers[0].kill()

        deadlines = Deadline.objects.filter(case_id__in=case_ids, kind="evidence_preservation")
        assert deadlines.count() == CASES + 1
        last_due = max(d.due_at for d in deadlines)
        wait_for(lambda: timezone.now() > last_due, DUE_IN + 60, "every deadline to pass")

        def settled():
            passed = Alert.objects.filter(deadline__in=deadlines, kind__in=["overdue", "late"]).values(
                "deadline").distinct().count()
            pending = Delivery.objects.exclude(status="sent").count()
            return passed == CASES + 1 and pending == 0 and Delivery.objects.filter(status="sent").count() == len(
                set(receiver.accepted)) + len(set(smtp.delivery_ids()))

        wait_for(settled, 90, "an alert for every passed deadline, every delivery sent and received")
        time.sleep(3)  # a few more scans and sweeps by both beats: nothing more may leave

        # No duplicate case, every retry answered with the first answer.
        cases = Case.objects.filter(organization=org)
        assert cases.count() == CASES + 1
        assert len(set(cases.values_list("order_number", flat=True))) == CASES + 1

        # Every upload once, in the bucket byte for byte; nothing else there; nothing on the nodes' disks.
        items = list(Evidence.objects.filter(case_id__in=case_ids))
        assert sorted(i.case_id for i in items) == sorted(case_ids)
        client = seaweedfs.client()
        keys = {o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])}
        assert keys == {item.file.name for item in items}
        for item in items:
            assert client.get_object(Bucket=bucket, Key=item.file.name)["Body"].read() == sent[item.case_id]
        assert not [p for p in tmp_path.glob("media-*/**/*") if p.is_file()]

        # Every alert exactly once per channel.
        alerts = list(Alert.objects.filter(case_id__in=case_ids))
        assert len({(a.deadline_id, a.kind, a.due_at) for a in alerts}) == len(alerts)
        assert {a.kind for a in alerts} >= {"due_soon_2h"} and any(a.kind in ("overdue", "late") for a in alerts)
        deliveries = list(Delivery.objects.filter(alert__in=alerts))
        per_channel = Counter((d.alert_id, d.channel) for d in deliveries)
        assert set(per_channel) == {(a.pk, ch) for a in alerts for ch in ("email", "webhook")}
        assert set(per_channel.values()) == {1}
        webhook_ids = {str(d.uid) for d in deliveries if d.channel == "webhook"}
        email_ids = {str(d.uid) for d in deliveries if d.channel == "email"}
        assert set(receiver.accepted) == webhook_ids
        assert set(smtp.delivery_ids()) == email_ids
        # A delivery may reach the receiver twice only if its worker died between sending and recording it;
        # the receiver recognises it by X-Kameng-Delivery. Nothing else is ever sent twice.
        assert receiver.duplicates + (len(smtp.delivery_ids()) - len(email_ids)) <= 2

        # The chain of every case holds, read through the surviving node (files re-hashed from the bucket).
        for case_id in case_ids:
            status, _, report = partner.call("GET", f"/api/v1/cases/{case_id}/verify/", None, {}, 1)
            assert status == 200 and report["intact"] is True, report

        print(f"\ncluster run: {len(case_ids)} cases, {len(items)} uploads "
              f"({sum(len(c) for c in sent.values()) / MiB:.1f} MB), {len(alerts)} alerts, {len(deliveries)} "
              f"deliveries, webhook duplicates {receiver.duplicates}, requests per node {dict(partner.served)}, "
              f"multipart uploads left open by the killed node "
              f"{len(client.list_multipart_uploads(Bucket=bucket).get('Uploads', []))}")
        # Both nodes took traffic; the survivors are alive.
        assert all(partner.served[f"http://127.0.0.1:{p}"] > 0 for p in WEB_PORTS), partner.served
        assert web2.alive() and workers[1].alive() and all(b.alive() for b in beats)
    finally:
        receiver.close()
        for proc in [*procs, *workers, *beats]:
            proc.stop()
