from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent
from escalation.models import Deadline, Escalation
from kameng_api.core.roles import Role
from tests.helpers import assert_error, payload

pytestmark = pytest.mark.django_db


def url(case):
    return f"/api/v1/cases/{case.pk}/escalations/"


def escalate(client, case, channel, minutes_ago=60, **extra):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return client.post(url(case), {"channel": channel, "submitted_at": when.isoformat(), **extra}, format="json")


def test_walking_up_the_ladder_in_order_moves_the_status_and_starts_each_clock(handler, supervisor, case):
    steps = [("merchant", "negotiating", "merchant_answer"), ("platform", "platform_review", "platform_answer"),
             ("12315", "third_party", "12315_acceptance")]
    for minutes_ago, (channel, status, kind) in zip((300, 200, 100), steps, strict=True):
        response = escalate(handler, case, channel, minutes_ago=minutes_ago, external_reference=f"R-{channel}")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["channel"] == channel and body["outcome"] == "pending" and body["due_at"]
        case.refresh_from_db()
        assert case.status == status
        assert Deadline.objects.get(escalation_id=body["id"]).kind == kind
    # the lower rungs' clocks were cancelled when the case went up
    assert set(Deadline.objects.filter(case=case, kind__in=["merchant_answer", "platform_answer"])
               .values_list("status", flat=True)) == {"cancelled"}
    assert Deadline.objects.get(case=case, kind="12315_acceptance").status == "open"
    response = escalate(supervisor, case, "small_claims", minutes_ago=10)
    assert response.status_code == 201, response.content
    assert response.json()["approved_by"]
    case.refresh_from_db()
    assert case.status == "legal"
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds.count("escalated") == 4 and kinds.count("status_changed") == 4


def test_a_second_channel_on_the_same_rung_keeps_the_status(handler, case):
    assert escalate(handler, case, "merchant", 300).status_code == 201
    assert escalate(handler, case, "platform", 200).status_code == 201
    assert escalate(handler, case, "12315", 100).status_code == 201
    assert escalate(handler, case, "public_complaint", 50).status_code == 201
    case.refresh_from_db()
    assert case.status == "third_party"


def test_skipping_a_rung_without_a_reason_is_refused_naming_the_missing_rung(handler, case):
    when = timezone.now() - timedelta(minutes=60)
    response = handler.post(url(case), {"channel": "12315", "submitted_at": when.isoformat()}, format="json",
                            HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 400, attr="skip_reason")
    detail = body["errors"][0]["detail"]
    assert "level 1" in detail and "level 2" in detail and "merchant" in detail and "platform" in detail
    assert not Escalation.objects.exists()
    case.refresh_from_db()
    assert case.status == "intake"


def test_skipping_with_a_reason_records_it_and_jumps_the_status(handler, case):
    response = escalate(handler, case, "payment_dispute", skip_reason="platform_absconded")
    assert response.status_code == 201, response.content
    assert response.json()["skip_reason"] == "platform_absconded"
    case.refresh_from_db()
    assert case.status == "third_party"
    event = CaseEvent.objects.get(case=case, kind="escalated")
    assert event.data["skipped_levels"] == [1, 2]


def test_skip_reason_other_needs_words(handler, case):
    assert_error(escalate(handler, case, "platform", skip_reason="other"), 400, attr="skip_note")
    assert escalate(handler, case, "platform", skip_reason="other", skip_note="商家店铺已注销").status_code == 201


def test_unknown_skip_reason_and_channel_are_400(handler, case):
    assert_error(escalate(handler, case, "platform", skip_reason="bored"), 400, attr="skip_reason")
    assert_error(escalate(handler, case, "carrier_pigeon"), 400, attr="channel")
    assert_error(handler.post(url(case), {"channel": "merchant"}, format="json"), 400, attr="submitted_at")
    assert_error(handler.post(url(case), {"channel": "merchant", "submitted_at": "yesterday"}, format="json"),
                 400, attr="submitted_at")


def test_submitted_in_the_future_or_before_the_purchase_is_400(handler, case):
    assert_error(escalate(handler, case, "merchant", minutes_ago=-60), 400, attr="submitted_at")
    assert_error(escalate(handler, case, "merchant", minutes_ago=60 * 24 * 10), 400, attr="submitted_at")


def test_legal_level_needs_a_supervisor(handler, supervisor, case):
    for channel, minutes in (("merchant", 300), ("platform", 200), ("12315", 100)):
        assert escalate(handler, case, channel, minutes).status_code == 201
    assert_error(escalate(handler, case, "lawsuit"), 403)
    assert Escalation.objects.filter(level=4).count() == 0
    assert escalate(supervisor, case, "lawsuit").status_code == 201


def test_closed_case_cannot_be_escalated(handler, case):
    Case.objects.filter(pk=case.pk).update(status="resolved")
    assert_error(escalate(handler, case, "merchant"), 409, code="case_closed")


def test_answering_marks_the_deadline_met_and_records_the_event(handler, case):
    esc = escalate(handler, case, "merchant", 120).json()
    response = handler.patch(f"/api/v1/escalations/{esc['id']}/", {
        "response": "商家同意补发", "responded_at": (timezone.now() - timedelta(minutes=30)).isoformat(),
        "outcome": "resolved"}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "resolved"
    deadline = Deadline.objects.get(escalation_id=esc["id"])
    assert deadline.status == "met" and deadline.met_at
    assert CaseEvent.objects.filter(case=case, kind="escalation_answered").count() == 1
    again = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"response": "x"}, format="json", HTTP_IF_MATCH="*")
    assert_error(again, 409, code="escalation_closed")


def test_12315_acceptance_starts_the_45_working_day_mediation_clock(handler, case):
    for channel, minutes in (("merchant", 300), ("platform", 200)):
        escalate(handler, case, channel, minutes)
    esc = escalate(handler, case, "12315", 100).json()
    response = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "accepted", "response": "已受理"},
                             format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    acceptance = Deadline.objects.get(escalation_id=esc["id"], kind="12315_acceptance")
    mediation = Deadline.objects.get(escalation_id=esc["id"], kind="12315_mediation")
    assert acceptance.status == "met" and mediation.status == "open" and mediation.working_days == 45
    assert response.json()["due_at"] == mediation.due_at.astimezone(timezone.get_current_timezone()).isoformat()


def test_answer_bad_input(handler, case):
    esc = escalate(handler, case, "merchant", 120).json()
    target = f"/api/v1/escalations/{esc['id']}/"
    assert_error(handler.patch(target, {}, format="json", HTTP_IF_MATCH="*"), 400, attr="response")
    assert_error(handler.patch(target, {"outcome": "pending"}, format="json", HTTP_IF_MATCH="*"), 400, attr="outcome")
    assert_error(handler.patch(target, {"responded_at": (timezone.now() - timedelta(hours=5)).isoformat()},
                               format="json", HTTP_IF_MATCH="*"), 400, attr="responded_at")
    assert_error(handler.patch(target, {"responded_at": (timezone.now() + timedelta(hours=5)).isoformat()},
                               format="json", HTTP_IF_MATCH="*"), 400, attr="responded_at")


def test_if_match_guards_the_answer(handler, case):
    esc = escalate(handler, case, "merchant", 120).json()
    target = f"/api/v1/escalations/{esc['id']}/"
    etag = handler.get(target)["ETag"]
    assert_error(handler.patch(target, {"response": "x"}, format="json", HTTP_IF_MATCH='"1-1"'), 409,
                 code="stale_if_match")
    assert handler.patch(target, {"response": "x"}, format="json", HTTP_IF_MATCH=etag).status_code == 200


@pytest.mark.parametrize("role", [Role.INTAKE, Role.HANDLER, Role.SUPERVISOR])
def test_staff_of_the_organization_read_escalations(user_client, handler, case, role):
    esc = escalate(handler, case, "merchant").json()
    client = user_client(role)
    listed = client.get(url(case))
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert client.get(f"/api/v1/escalations/{esc['id']}/").status_code == 200


def test_role_matrix(anon, analyst, intake, partner, handler, case, make_case, partner_key):
    esc = escalate(handler, case, "merchant").json()
    detail = f"/api/v1/escalations/{esc['id']}/"
    assert_error(anon.get(url(case)), 401)
    assert_error(anon.post(url(case), {}, format="json"), 401)
    assert_error(analyst.get(url(case)), 403)
    assert_error(analyst.get(detail), 403)
    assert_error(escalate(intake, case, "platform"), 403)
    assert_error(intake.patch(detail, {"response": "x"}, format="json", HTTP_IF_MATCH="*"), 403)
    # a partner key reads only cases filed through partner keys
    assert_error(partner.get(url(case)), 404)
    assert_error(partner.get(detail), 404)
    filed = make_case(filed_by_key=partner_key[0])
    escalate(handler, filed, "merchant")
    assert partner.get(url(filed)).status_code == 200
    assert_error(escalate(partner, filed, "platform"), 403)


def test_another_organizations_case_and_escalation_are_404(handler, user_client, other_org, other_case):
    other_handler = user_client(Role.HANDLER, other_org)
    esc = escalate(other_handler, other_case, "merchant").json()
    assert_error(handler.get(url(other_case)), 404)
    assert_error(escalate(handler, other_case, "merchant"), 404)
    assert_error(handler.get(f"/api/v1/escalations/{esc['id']}/"), 404)
    assert_error(handler.patch(f"/api/v1/escalations/{esc['id']}/", {"response": "x"}, format="json", HTTP_IF_MATCH="*"), 404)
    assert_error(handler.get(f"/api/v1/cases/{other_case.pk}/recommendation/"), 404)
    assert_error(handler.get(f"/api/v1/cases/{other_case.pk}/letter/"), 404)
    assert_error(handler.get("/api/v1/escalations/999999999999999999/"), 404)
    assert handler.get("/api/v1/cases/99999999999999999999/escalations/").status_code == 404


def test_creating_a_case_starts_the_evidence_and_platform_window_clocks(intake, platform):
    response = intake.post("/api/v1/cases/", payload(platform), format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    deadlines = {d.kind: d for d in Deadline.objects.filter(case=case)}
    assert set(deadlines) == {"evidence_preservation", "platform_window"}
    assert deadlines["evidence_preservation"].due_at == case.problem_found_at + timedelta(hours=24)
    assert deadlines["platform_window"].due_at == case.delivered_at + timedelta(hours=platform.complaint_window_hours)
