"""The API fuzzed from its own schema (schemathesis), authenticated: no 5xx, and every response matches
the schema. Runs for a staff supervisor and for a partner key."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis import checks

from cases.services import api_key_create
from kameng_api.core.roles import Role
from kameng_api.wsgi import application
from tests.factories import CaseFactory, PlatformFactory, UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


@pytest.fixture
def keep_test_connection():
    """The WSGI app ends each request by closing old connections, which would close the test's
    transaction; Django's own test client disconnects that handler in the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(db, keep_test_connection):
    """Headers of a supervisor and of a partner key of one organization that has a platform and cases."""
    supervisor = UserFactory(role=Role.SUPERVISOR)
    org = supervisor.organization
    org.kind, org.level = "consumer_association", "province"  # the procedure's endpoints do their work too
    org.save(update_fields=["kind", "level"])
    platform = PlatformFactory()
    CaseFactory.create_batch(2, organization=org, platform=platform)
    _key, raw = api_key_create(organization=org, name="fuzz", can_read_stats=True)
    _instance, token = AuthToken.objects.create(user=supervisor)
    return {"supervisor": {"Authorization": f"Token {token}"}, "partner": {"Authorization": f"Api-Key {raw}"}}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("who", ["supervisor", "partner"])
def test_api_fuzz(case, credentials, who):
    case.call_and_validate(headers=credentials[who], checks=CHECKS)
