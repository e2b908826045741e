"""Statistics on a streaming read replica: a web node with DATABASE_URL on a primary and DATABASE_REPLICA_URL
on its streaming replica (both started by the test from Debian's PostgreSQL binaries, ports 5434 and 5433).
Analyst reads come from the replica; a replica that lags or is down is skipped, with a log line, and the
primary answers; writes always go to the primary."""

import json
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from tests.conftest import require
from tests.servers import PostgresPair, port_free, postgres_bin

from .nodes import ROOT, node_env, request, start_web, wait_for, wait_ready

pytestmark = [pytest.mark.replica, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PORT = 8870
MAX_LAG = 8.0  # generous: the steps before the lag is due must fit in it on a loaded machine
SETUP = """
from kameng_api.core.tokens import token_issue
from cases.models import Organization, User
org = Organization.objects.create(slug="replica-org", name="Replica")
analyst = User.objects.create(username="analyst-r", organization=org, role="analyst")
supervisor = User.objects.create(username="supervisor-r", organization=org, role="supervisor")
print("TOKENS", token_issue(user=analyst)[1], token_issue(user=supervisor)[1])
"""


def _sql(url: str, statement: str, *params):
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def pair(real_postgres, tmp_path):
    require(postgres_bin() is not None, "PostgreSQL server binaries are not installed")
    require(port_free(5434) and port_free(5433) and port_free(PORT), "ports 5434/5433/8870 are in use")
    servers = PostgresPair().start()
    try:
        # The schema of this run's (migrated) test database, copied to the new primary; it replicates.
        db = connection.settings_dict
        dump = subprocess.run(["pg_dump", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U",
                               db["USER"] or "postgres", "--no-owner", "--no-privileges", db["NAME"]],
                              check=True, capture_output=True, timeout=120).stdout
        _sql(servers.url("primary"), "CREATE DATABASE kameng")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", servers.url("primary", "kameng")], input=dump,
                       check=True, capture_output=True, timeout=120)
        yield servers
    finally:
        servers.stop()


def _platform_names(base: str, token: str) -> list[str]:
    status, _, body = request("GET", f"{base}/api/v1/stats/platforms/", headers={"Authorization": f"Token {token}"})
    assert status == 200, body
    return [row["platform"]["name"] for row in json.loads(body)["results"]]


def test_statistics_read_from_the_replica_and_fall_back_to_the_primary(pair, tmp_path):
    primary, replica = pair.url("primary", "kameng"), pair.url("replica", "kameng")
    env = node_env(primary, DATABASE_REPLICA_URL=replica, KAMENG_REPLICA_MAX_LAG=str(MAX_LAG),
                   KAMENG_REPLICA_CHECK_INTERVAL="0", REDIS_URL="")
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True, timeout=120).stdout
    analyst, supervisor = next(line for line in out.splitlines() if line.startswith("TOKENS")).split()[1:]
    web = start_web("web-replica", PORT, env, tmp_path, workers=1)
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_ready(base, web)

        def add_platform(name: str) -> None:
            status, _, body = request("POST", f"{base}/api/v1/platforms/", {"name": name},
                                      headers={"Authorization": f"Token {supervisor}"})
            assert status == 201, body  # a write: always the primary

        add_platform("平台一")
        wait_for(lambda: _sql(replica, "SELECT 1 FROM cases_platform WHERE name = %s", "平台一"), 30,
                 "the replica to replay the first platform")
        assert _platform_names(base, analyst) == ["平台一"]

        _sql(pair.url("replica"), "SELECT pg_wal_replay_pause()")
        add_platform("平台二")
        assert _sql(primary, "SELECT count(*) FROM cases_platform")[0][0] == 2
        # Read from the replica, which has not replayed the second platform yet (and is within the lag limit).
        assert _platform_names(base, analyst) == ["平台一"]
        assert "lagging" not in web.log()

        time.sleep(MAX_LAG + 0.5)
        # Now it lags more than KAMENG_REPLICA_MAX_LAG: the primary answers, with a warning in the log.
        assert sorted(_platform_names(base, analyst)) == ["平台一", "平台二"]
        wait_for(lambda: "read replica not used" in web.log() and "lagging" in web.log(), 5, "the lag warning")

        _sql(pair.url("replica"), "SELECT pg_wal_replay_resume()")
        wait_for(lambda: _sql(replica, "SELECT 1 FROM cases_platform WHERE name = %s", "平台二"), 30,
                 "the replica to catch up")
        assert sorted(_platform_names(base, analyst)) == ["平台一", "平台二"]
        wait_for(lambda: "read replica in use" in web.log(), 5, "the replica taken back into use")

        pair.stop_replica()
        assert sorted(_platform_names(base, analyst)) == ["平台一", "平台二"]
        wait_for(lambda: "unavailable" in web.log(), 5, "the replica-down warning")
        status, _, body = request("GET", f"{base}/readyz")
        assert status == 200, body  # the node stays in rotation: the replica is optional
        add_platform("平台三")
        assert len(_platform_names(base, analyst)) == 3
    finally:
        web.stop()
