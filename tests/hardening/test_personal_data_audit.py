"""Every answer that carries a consumer's personal data in full writes an audit row; lists (masked) and
the analyst's statistics do not; names with bidirectional-text controls are refused."""

import pytest
from django.utils import timezone

from cases.models import Case, Merchant
from kameng_api.core.models import AuditLog
from tests.factories import CaseFactory
from tests.helpers import payload

from .test_hostile_input import assert_error


def pii_rows(case):
    return list(AuditLog.objects.filter(action="pii_read", object_id=str(case.consumer_id))
                .values_list("detail", flat=True))


@pytest.fixture
def case(org, platform):
    return CaseFactory(organization=org, platform=platform)


def _etag(client, case):
    return client.get(f"/api/v1/cases/{case.pk}/")["ETag"]


@pytest.mark.parametrize("request_kind", ["retrieve", "patch", "transition", "assign", "letter", "bundle"])
def test_each_answer_with_the_full_consumer_writes_one_audit_row(supervisor, case, make_user, request_kind):
    url = f"/api/v1/cases/{case.pk}/"
    if request_kind == "retrieve":
        response = supervisor.get(url)
    elif request_kind == "patch":
        etag = _etag(supervisor, case)
        AuditLog.objects.all().delete()
        response = supervisor.patch(url, {"description": "补充"}, format="json", HTTP_IF_MATCH=etag)
    elif request_kind == "transition":
        response = supervisor.post(f"{url}transition/", {"to": "collecting_evidence", "note": "收集"}, format="json")
    elif request_kind == "assign":
        response = supervisor.post(f"{url}assign/", {"assignee": make_user().pk, "note": ""}, format="json")
    elif request_kind == "letter":
        response = supervisor.get(f"{url}letter/")
    else:
        response = supervisor.get(f"{url}bundle/")
        b"".join(response.streaming_content)
    assert response.status_code == 200, response.content[:300]
    rows = pii_rows(case)
    assert len(rows) == 1
    assert rows[0]["case"] == case.reference
    row = AuditLog.objects.get(action="pii_read")
    assert row.actor_user is not None and row.organization_id == case.organization_id


def test_a_replayed_creation_is_a_read_and_is_audited(partner, platform):
    body = payload(platform)
    partner.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="audit-1")
    assert not AuditLog.objects.filter(action="pii_read").exists()  # the creator's own echo
    again = partner.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="audit-1")
    assert again["Idempotent-Replayed"] == "true"
    row = AuditLog.objects.get(action="pii_read")
    assert row.actor_key is not None and row.detail["case"] == Case.objects.get().reference


def test_masked_lists_failed_requests_and_other_answers_write_no_row(handler, case):
    assert handler.get("/api/v1/cases/").status_code == 200
    assert handler.get(f"/api/v1/cases/{case.pk}/timeline/").status_code == 200
    assert handler.patch(f"/api/v1/cases/{case.pk}/", {"description": "x"}, format="json").status_code == 428
    assert handler.post(f"/api/v1/cases/{case.pk}/transition/", {"to": "legal", "note": ""},
                        format="json").status_code in (400, 409)
    assert not AuditLog.objects.filter(action="pii_read").exists()


BIDI = ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]


@pytest.mark.parametrize("char", BIDI)
def test_a_merchant_name_with_a_bidi_control_is_400_and_nothing_is_written(intake, platform, char):
    response = intake.post("/api/v1/cases/", payload(platform, merchant_name=f"星辰{char}店gnp.exe"), format="json")
    assert_error(response, 400, code="bidi_control")
    assert Case.objects.count() == 0 and Merchant.objects.count() == 0


@pytest.mark.parametrize(("field", "body"), [
    ("consumer.name", {"consumer": {"name": "张\u202e三", "phone": "13812345678"}}),
    ("merchant_name", {"merchant_name": "\u2067店\u2069"}),
])
def test_other_names_with_bidi_controls_are_refused_on_create_and_patch(handler, platform, case, field, body):
    response = handler.post("/api/v1/cases/", payload(platform, **body), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == field
    etag = _etag(handler, case)
    response = handler.patch(f"/api/v1/cases/{case.pk}/", body, format="json", HTTP_IF_MATCH=etag)
    assert_error(response, 400, code="bidi_control")


@pytest.mark.parametrize("field", ["name", "company_name"])
def test_platform_names_with_bidi_controls_are_refused(supervisor, field):
    body = {"name": "平台甲", "domains": ["a.example.cn"], "complaint_window_hours": 72,
            "response_working_days": 3, field: "平台\u202e乙"}
    assert_error(supervisor.post("/api/v1/platforms/", body, format="json"), 400, code="bidi_control")


def test_ordinary_chinese_and_arabic_names_are_accepted(intake, platform):
    response = intake.post("/api/v1/cases/", payload(platform, merchant_name="星辰点卡店 متجر"), format="json")
    assert response.status_code == 201
    assert response.json()["merchant_name"] == "星辰点卡店 متجر"
    assert timezone.now()


def test_the_read_row_names_who_what_how_from_where_and_when(supervisor, partner, partner_key, case, org):
    """The pii_read row of a detail (written by a prepared INSERT on PostgreSQL) holds every column: the
    organization, the user or the partner key, the consumer, the case, the request, the address, the time."""
    before = timezone.now()
    assert supervisor.get(f"/api/v1/cases/{case.pk}/", REMOTE_ADDR="203.0.113.9").status_code == 200
    row = AuditLog.objects.get(action="pii_read")
    assert (row.organization_id, row.object_type, row.object_id) == (org.pk, "consumer", str(case.consumer_id))
    assert row.actor_user is not None and row.actor_key is None
    assert row.detail == {"case": case.reference, "via": f"GET /api/v1/cases/{case.pk}/"}
    assert row.ip_address == "203.0.113.9"
    assert before <= row.at <= timezone.now()
    AuditLog.objects.all().delete()
    filed = CaseFactory(organization=org, platform=case.platform, filed_by_key=partner_key[0])
    assert partner.get(f"/api/v1/cases/{filed.pk}/").status_code == 200
    row = AuditLog.objects.get(action="pii_read")
    assert row.actor_key_id == partner_key[0].pk and row.actor_user is None
    assert row.detail["case"] == filed.reference
    assert partner.get(f"/api/v1/cases/{case.pk}/").status_code == 404  # not the partner's: no row
    assert AuditLog.objects.filter(action="pii_read").count() == 1
