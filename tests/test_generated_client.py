"""A client generated from the published schema by openapi-python-client works end to end against a live
server (gunicorn on the test database): log in, file a case with claims, upload evidence, escalate, record
the answer with If-Match, read the letter, download the bundle. Every answer is parsed by the generated
models, and undocumented status codes raise."""

import importlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kameng_api.core.roles import Role
from tests.factories import PASSWORD, OrganizationFactory, PlatformFactory, UserFactory
from tests.helpers import payload, png

PORT = 8233
PACKAGE = "kameng_generated_client"


@pytest.fixture
def generated(tmp_path, transactional_db):
    """The client package, generated from /api/schema/ into a temporary directory and imported."""
    schema = tmp_path / "schema.json"
    schema.write_bytes(APIClient().get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans").content)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "openapi-python-client"), "generate", "--path", str(schema),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        modules = {}
        for name in ("client", "types", "models", "api.auth.api_v1_auth_token_create", "api.cases.api_v1_cases_create",
                     "api.cases.api_v1_cases_retrieve", "api.evidence.api_v1_cases_evidence_create",
                     "api.escalation.api_v1_cases_escalations_create", "api.escalation.api_v1_escalations_retrieve",
                     "api.escalation.api_v1_escalations_partial_update",
                     "api.escalation.api_v1_cases_letter_retrieve", "api.evidence.api_v1_cases_bundle_retrieve"):
            modules[name.rsplit(".", 1)[-1]] = importlib.import_module(f"{PACKAGE}.{name}")
        yield modules
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_generated_client_runs_the_whole_case_scenario(generated, gunicorn_live):
    live_server_url = gunicorn_live(PORT)
    g = generated
    models = g["models"]
    org = OrganizationFactory()
    UserFactory(username="clerk", role=Role.HANDLER, organization=org)
    platform = PlatformFactory()

    anonymous = g["client"].Client(base_url=live_server_url, raise_on_unexpected_status=True)
    token = g["api_v1_auth_token_create"].sync(
        client=anonymous, body=models.TokenRequestRequest(username="clerk", password=PASSWORD))
    assert isinstance(token, models.Token) and token.token
    client = g["client"].AuthenticatedClient(base_url=live_server_url, token=token.token, prefix="Token",
                                             raise_on_unexpected_status=True)

    bad = g["api_v1_cases_create"].sync(client=client, body=models.CaseRequest.from_dict(
        payload(platform, amount_paid="-1", claims=[{"kind": "refund", "amount": "1.00"}])))
    assert isinstance(bad, models.ValidationErrorResponse) and bad.errors[0].attr == "amount_paid"

    body = payload(platform, claims=[{"kind": "refund", "amount": "98.50"}, {"kind": "compensation", "amount": "20"}])
    case = g["api_v1_cases_create"].sync(client=client, body=models.CaseRequest.from_dict(body))
    assert isinstance(case, models.Case), case
    assert case.reference.startswith("KM-") and {c.kind.value for c in case.claims} == {"refund", "compensation"}

    upload = models.EvidenceUploadRequest(
        file=g["types"].File(payload=io.BytesIO(png()), file_name="激活失败.png", mime_type="image/png"),
        kind=models.EvidenceKindEnum("error_screenshot"),
        occurred_at=case.problem_found_at + timedelta(minutes=10), description="卡密提示已被使用")
    evidence = g["api_v1_cases_evidence_create"].sync(case_id=str(case.id), client=client, body=upload)
    assert isinstance(evidence, models.Evidence), evidence
    assert len(evidence.sha256) == 64

    escalation = g["api_v1_cases_escalations_create"].sync(
        case_id=str(case.id), client=client,
        body=models.EscalationCreateRequest.from_dict({"channel": "merchant",
                                                       "submitted_at": timezone.now().isoformat()}))
    assert isinstance(escalation, models.Escalation), escalation
    assert escalation.skip_reason is None and escalation.approved_by is None

    current = g["api_v1_escalations_retrieve"].sync_detailed(id=str(escalation.id), client=client)
    etag = current.headers["ETag"]
    answered = g["api_v1_escalations_partial_update"].sync_detailed(
        id=str(escalation.id), client=client, if_match=etag,
        body=models.PatchedEscalationAnswerRequest.from_dict({"response": "商家同意退款", "outcome": "resolved"}))
    assert answered.status_code == 200 and answered.parsed.outcome.value == "resolved"
    stale = g["api_v1_escalations_partial_update"].sync_detailed(
        id=str(escalation.id), client=client, if_match=etag,
        body=models.PatchedEscalationAnswerRequest.from_dict({"response": "again"}))
    assert stale.status_code == 409 and isinstance(stale.parsed, models.ClientErrorResponse)

    letter = g["api_v1_cases_letter_retrieve"].sync_detailed(case_id=str(case.id), client=client)
    assert letter.status_code == 200 and case.order_number in letter.content.decode()

    bundle = g["api_v1_cases_bundle_retrieve"].sync(case_id=str(case.id), client=client)
    archive = zipfile.ZipFile(io.BytesIO(bundle.payload.read()))
    assert "manifest.json" in archive.namelist()
    assert json.loads(archive.read("manifest.json"))["case"]["reference"] == case.reference
