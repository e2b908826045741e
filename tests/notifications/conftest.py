import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from escalation import rules
from escalation.codes import DeadlineKind
from escalation.services import deadline_build
from tests.conftest import ROOT, worker_database_url
from tests.factories import CaseFactory
from tests.helpers import wait_for


@pytest.fixture
def make_deadline(org):
    """make_deadline(due_in=timedelta, case=None, now=None): the merchant's 48-hour answer clock, built by
    the service (escalation/rules.py: late 24 h, very late 48 h after the due time), started so that it falls
    due `due_in` from `now`. Any later state (met, suspended, extended, cancelled) comes from the services."""

    def make(due_in=timedelta(hours=-1), case=None, now=None):
        now = now or timezone.now()
        case = case or CaseFactory(organization=org)
        rule = rules.DEADLINES[DeadlineKind.MERCHANT_ANSWER]
        deadline = deadline_build(case=case, kind=DeadlineKind.MERCHANT_ANSWER,
                                  starts_at=now + due_in - timedelta(hours=rule.amount), unit=rule.unit,
                                  amount=rule.amount, very_late=rule.very_late)
        deadline.save()
        return deadline

    return make


class Receiver:
    """A real HTTP receiver in a thread. It dedupes by X-Kameng-Delivery, as a partner app should.

    `block_first`: the first request waits (unanswered) until `release` is set, then is dropped."""

    def __init__(self, status=200, block_first=False):
        self.status = status
        self.block_first = block_first
        self.requests: list[dict] = []
        self.accepted: list[str] = []
        self.duplicates = 0
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    first = not receiver.requests
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                if first and receiver.block_first:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                    self.close_connection = True
                    return  # never answered: the sender died meanwhile
                delivery_id = self.headers.get("X-Kameng-Delivery")
                with receiver.lock:
                    if delivery_id in receiver.accepted:
                        receiver.duplicates += 1
                    else:
                        receiver.accepted.append(delivery_id)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()




class Workers:
    """Real Celery worker processes on Redis against the test database, each in its own process group so
    a test can SIGKILL one (parent and pool child) mid-task and start a fresh one."""

    def __init__(self, tmp_path, email_dir):
        self.tmp_path = tmp_path
        self.email_dir = email_dir
        self.procs = []

    def start(self, concurrency: int = 1):
        from django.conf import settings

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
            "DATABASE_URL": worker_database_url(),
            "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "KAMENG_TEST_EMAIL_DIR": str(self.email_dir),
        }
        log_path = self.tmp_path / f"worker-{len(self.procs)}.log"
        log = open(log_path, "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kameng_api", "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
             "--pool=prefork", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        proc.log_path, proc.log_file = log_path, log
        self.procs.append(proc)
        wait_for(lambda: "ready" in log_path.read_text() or proc.poll() is not None, 30, "the worker to start")
        if proc.poll() is not None:
            raise RuntimeError(log_path.read_text())
        return proc

    def kill(self, proc):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.log_file.close()


@pytest.fixture
def workers(transactional_db, tmp_path):
    """Worker processes on Redis (REDIS_URL) or on the filesystem broker, against PostgreSQL or SQLite."""
    from kameng_api.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    email_dir = tmp_path / "mail"
    email_dir.mkdir()
    pool = Workers(tmp_path, email_dir)
    yield pool
    pool.stop_all()


def body_json(request) -> dict:
    return json.loads(request["body"])
