"""Schemathesis against the real server (gunicorn), every check (`--checks all`), the stateful phase
following the schema's links, for a supervisor and for a partner key. The documented business rules are
listed in schemathesis.toml; anything else fails. `LIVE_FUZZ_EXAMPLES` raises the examples per operation
(default 3, about half a minute per caller here)."""

import os
import subprocess
import sys

import pytest

from cases.services import api_key_create
from kameng_api.core.roles import Role
from kameng_api.core.tokens import token_issue
from tests.conftest import ROOT
from tests.factories import CaseFactory, PlatformFactory, UserFactory

PORT = 8235
EXAMPLES = os.environ.get("LIVE_FUZZ_EXAMPLES", "3")


@pytest.fixture
def callers(transactional_db):
    supervisor = UserFactory(role=Role.SUPERVISOR)
    org = supervisor.organization
    platform = PlatformFactory()
    for _ in range(2):
        CaseFactory(organization=org, platform=platform)
    _key, raw = api_key_create(organization=org, name="fuzz", can_read_stats=True)
    _token, key = token_issue(user=supervisor)
    return {"supervisor": f"Token {key}", "partner": f"Api-Key {raw}"}


@pytest.mark.parametrize("who", ["supervisor", "partner"])
def test_schemathesis_all_checks_and_stateful_links_find_nothing(gunicorn_live, callers, who, tmp_path):
    url = gunicorn_live(PORT)
    st = os.path.join(os.path.dirname(sys.executable), "st")
    result = subprocess.run(
        [st, "run", f"{url}/api/schema/?format=json", "--checks", "all", "--phases", "examples,fuzzing,stateful",
         "--max-examples", EXAMPLES, "--workers", "2", "--exclude-path-regex", "^/healthz",
         "--generation-deterministic", "-H", f"Authorization: {callers[who]}", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    tail = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert "Stateful" in result.stdout and "passed" in result.stdout, tail
