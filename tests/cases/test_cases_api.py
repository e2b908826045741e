from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent, Claim, Consumer
from kameng_api.core.models import AuditLog
from kameng_api.core.roles import Role
from tests.factories import CaseFactory
from tests.helpers import assert_error, payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/cases/"


def test_intake_registers_a_case_with_reference_and_history(intake, platform):
    response = intake.post(URL, payload(platform), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    year = timezone.localtime().year
    assert body["reference"].startswith(f"KM-{year}-") and len(body["reference"]) == len(f"KM-{year}-000001")
    assert body["status"] == "intake"
    assert body["amount_paid"] == "98.50"
    assert body["merchant_name"] == "星辰点卡店"
    assert body["consumer"]["phone"] == "13812345678"
    assert response["ETag"] == f'"{body["id"]}-1"'
    case = Case.objects.get(pk=body["id"])
    assert list(case.events.values_list("kind", flat=True)) == ["created"]


def test_references_are_sequential(intake, platform):
    first = intake.post(URL, payload(platform, order_number="A1"), format="json").json()["reference"]
    second = intake.post(URL, payload(platform, order_number="A2"), format="json").json()["reference"]
    assert int(second[-6:]) == int(first[-6:]) + 1


def test_list_masks_the_consumer_and_detail_shows_it_with_an_audit_row(handler, platform):
    created = handler.post(URL, payload(platform), format="json").json()
    listed = handler.get(URL).json()
    assert listed["count"] == 1
    consumer = listed["results"][0]["consumer"]
    assert consumer == {"name": "张*", "phone": "138****5678", "id_number": "1101**********002X"}
    assert "13812345678" not in str(listed)
    assert not AuditLog.objects.filter(action="pii_read").exists()
    detail = handler.get(f"{URL}{created['id']}/").json()
    assert detail["consumer"]["name"] == "张三"
    assert AuditLog.objects.filter(action="pii_read", detail__case=created["reference"]).count() == 1


def test_duplicate_order_is_a_409_naming_the_existing_case(intake, platform):
    first = intake.post(URL, payload(platform), format="json").json()
    response = intake.post(URL, payload(platform, description="again"), format="json")
    body = assert_error(response, 409, "duplicate_case")
    assert first["reference"] in body["errors"][0]["detail"]
    assert Case.objects.count() == 1 and Consumer.objects.count() == 1


def test_same_order_in_another_organization_is_not_a_duplicate(user_client, other_org, platform):
    user_client(Role.INTAKE).post(URL, payload(platform), format="json")
    response = user_client(Role.INTAKE, other_org).post(URL, payload(platform), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("field", "value", "attr"),
    [
        ("amount_paid", "-5.00", "amount_paid"),
        ("amount_paid", "0", None),
        ("amount_paid", "1e400", "amount_paid"),
        ("amount_paid", "NaN", "amount_paid"),
        ("amount_paid", "99999999999999.99", "amount_paid"),
        ("amount_paid", [], "amount_paid"),
        ("platform", 99999999999999999999999, "platform"),
        ("platform", "abc", "platform"),
        ("platform", True, "platform"),
        ("platform", 424242, "platform"),
        ("dispute_type", "scam", "dispute_type"),
        ("product_type", None, "product_type"),
        ("payment_channel", "bitcoin", "payment_channel"),
        ("purchased_at", "yesterday", "purchased_at"),
        ("purchased_at", "9999-12-31T23:59:59+14:00", "purchased_at"),
        ("purchased_at", "1970-01-01T00:00:00Z", "purchased_at"),
        ("order_number", "x" * 65, "order_number"),
        ("order_number", "../../etc/passwd", "order_number"),
        ("order_number", "", "order_number"),
        ("description", "长" * 5001, "description"),
        ("consumer", "张三", None),
        ("consumer", {"name": "", "phone": "13812345678"}, "consumer.name"),
        ("consumer", {"name": "张三", "phone": "12345"}, "consumer.phone"),
        ("consumer", {"name": "张三", "id_number": "110105194912310021"}, "consumer.id_number"),
        ("claims", [], "claims"),
        ("claims", [{"kind": "refund", "amount": "500.00"}], "claims"),
        ("claims", [{"kind": "refund", "amount": "1"}, {"kind": "refund", "amount": "2"}], "claims"),
        ("claims", [{"kind": "punitive"}], "claims"),
        ("claims", [{"kind": "bribe", "amount": "1"}], "claims.0.kind"),
        ("claims", "refund", "claims.non_field_errors"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(intake, platform, field, value, attr):
    response = intake.post(URL, payload(platform, **{field: value}), format="json")
    assert_error(response, 400, attr=attr)
    assert Case.objects.count() == 0 and Consumer.objects.count() == 0 and Claim.objects.count() == 0


def test_future_and_out_of_order_times_are_refused(intake, platform):
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert_error(intake.post(URL, payload(platform, problem_found_at=future), format="json"), 400,
                 attr="problem_found_at")
    before = (timezone.now() - timedelta(days=10)).isoformat()
    assert_error(intake.post(URL, payload(platform, delivered_at=before), format="json"), 400, attr="delivered_at")


def test_missing_fields_are_named(intake):
    body = assert_error(intake.post(URL, {}, format="json"), 400)
    attrs = {e["attr"] for e in body["errors"]}
    assert {"platform", "order_number", "amount_paid", "consumer", "claims", "dispute_type"} <= attrs


def test_malformed_json_and_lone_surrogates_are_400(intake, platform):
    response = intake.post(URL, data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")
    response = intake.post(URL, data='{"order_number": "\\ud800"}', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_punitive_claim_needs_fraud_and_gets_the_statutory_amount(intake, platform):
    refused = intake.post(URL, payload(platform, claims=[{"kind": "punitive"}]), format="json",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "art. 55" in assert_error(refused, 400, attr="claims")["errors"][0]["detail"]
    ok = intake.post(URL, payload(platform, dispute_type="fraud", amount_paid="98.50",
                                  claims=[{"kind": "refund", "amount": "98.50"}, {"kind": "punitive"}]),
                     format="json")
    assert ok.status_code == 201, ok.content
    punitive = [c for c in ok.json()["claims"] if c["kind"] == "punitive"][0]
    assert punitive["amount"] == "500.00"  # 3 × 98.50 = 295.50 is below the 500 CNY floor
    big = intake.post(URL, payload(platform, order_number="BIG1", dispute_type="fraud", amount_paid="1000.00",
                                   claims=[{"kind": "punitive", "amount": "3000.00"}]), format="json")
    assert big.status_code == 201, big.content
    wrong = intake.post(URL, payload(platform, order_number="BIG2", dispute_type="fraud", amount_paid="1000.00",
                                     claims=[{"kind": "punitive", "amount": "9000.00"}]), format="json",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert "3000.00" in assert_error(wrong, 400, attr="claims")["errors"][0]["detail"]


def test_a_claim_far_beyond_the_loss_is_flagged(intake, platform):
    response = intake.post(URL, payload(platform, amount_paid="10.00", claims=[
        {"kind": "refund", "amount": "10.00"}, {"kind": "compensation", "amount": "1000.00"}]), format="json")
    assert response.status_code == 201
    flags = {c["kind"]: c["unreasonable"] for c in response.json()["claims"]}
    assert flags == {"refund": False, "compensation": True}


def test_filters(handler, org, platform):
    mine = CaseFactory(organization=org, platform=platform, status="negotiating", order_number="FIND-ME-1")
    CaseFactory(organization=org, status="intake", dispute_type="fraud")
    assert handler.get(URL, {"status": "negotiating"}).json()["count"] == 1
    assert handler.get(URL, {"platform": platform.pk}).json()["results"][0]["id"] == mine.pk
    assert handler.get(URL, {"dispute_type": "fraud"}).json()["count"] == 1
    assert handler.get(URL, {"search": "FIND-ME"}).json()["count"] == 1
    assert handler.get(URL, {"search": mine.reference}).json()["count"] == 1
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    assert handler.get(URL, {"created_before": tomorrow}).json()["count"] == 2
    assert handler.get(URL, {"created_after": tomorrow}).json()["count"] == 0


@pytest.mark.parametrize("params", [
    {"status": "lost"}, {"platform": "x"}, {"platform": "99999999999999999999999"}, {"assignee": "-1"},
    {"created_after": "not a date"}, {"product_type": "car"},
    {"created_after": "0600-04-24T13:44:30.54-22:58"}, {"created_before": "9999-12-31T23:59:59+14:00"},
])
def test_bad_filters_are_400(handler, params):
    assert_error(handler.get(URL, params), 400)


def test_transition_along_the_machine_records_actor_and_time(handler, org):
    case = CaseFactory(organization=org)
    response = handler.post(f"{URL}{case.pk}/transition/", {"to": "collecting_evidence", "note": "ok"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "collecting_evidence"
    event = CaseEvent.objects.get(case=case, kind="status_changed")
    assert (event.from_status, event.to_status, event.note) == ("intake", "collecting_evidence", "ok")
    assert event.actor_user is not None


def test_illegal_transition_is_409_naming_the_allowed_moves(handler, org):
    case = CaseFactory(organization=org)
    body = assert_error(handler.post(f"{URL}{case.pk}/transition/", {"to": "resolved"}, format="json"), 409,
                        "illegal_transition")
    assert "collecting_evidence" in body["errors"][0]["detail"]
    case.refresh_from_db()
    assert case.status == "intake"


def test_only_a_supervisor_moves_a_case_to_legal(handler, supervisor, org):
    case = CaseFactory(organization=org, status="third_party")
    assert_error(handler.post(f"{URL}{case.pk}/transition/", {"to": "legal"}, format="json"), 403)
    assert supervisor.post(f"{URL}{case.pk}/transition/", {"to": "legal"}, format="json").status_code == 200


def test_a_recovery_beyond_refund_plus_punitive_damages_is_refused_and_nothing_changes(handler, org):
    """At most the price back plus art. 55's 3x (at least 500 CNY): 10 CNY paid allows 510, not 510.01."""
    case = CaseFactory(organization=org, status="negotiating", amount_paid=Decimal("10.00"))
    url = f"{URL}{case.pk}/transition/"
    too_much = {"to": "resolved", "outcome": {"outcome": "favourable", "amount_recovered": "510.01"}}
    assert_error(handler.post(url, too_much, format="json"), 400, attr="amount_recovered")
    case.refresh_from_db()
    assert case.status == "negotiating" and case.amount_recovered is None
    fine = {"to": "resolved", "outcome": {"outcome": "favourable", "amount_recovered": "510.00"}}
    assert handler.post(url, fine, format="json").json()["amount_recovered"] == "510.00"


def test_resolving_needs_an_outcome_and_closes_the_case(handler, org):
    case = CaseFactory(organization=org, status="negotiating")
    url = f"{URL}{case.pk}/transition/"
    assert_error(handler.post(url, {"to": "resolved"}, format="json"), 400, attr="outcome")
    response = handler.post(url, {"to": "resolved", "outcome": {"outcome": "favourable", "amount_recovered": "100.00",
                                                               "consumer_rating": 5}}, format="json")
    assert response.status_code == 200
    assert response.json()["closed_at"] and response.json()["amount_recovered"] == "100.00"
    assert_error(handler.post(url, {"to": "negotiating"}, format="json"), 409, "illegal_transition")
    assert_error(handler.patch(f"{URL}{case.pk}/", {"description": "x"}, format="json", HTTP_IF_MATCH="*"), 409, "case_closed")


def test_stale_if_match_is_409(handler, org):
    case = CaseFactory(organization=org)
    etag = handler.get(f"{URL}{case.pk}/")["ETag"]
    ok = handler.patch(f"{URL}{case.pk}/", {"description": "首次修改"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok["ETag"] != etag
    stale = handler.patch(f"{URL}{case.pk}/", {"description": "第二次"}, format="json", HTTP_IF_MATCH=etag)
    assert_error(stale, 409, "stale_if_match")
    case.refresh_from_db()
    assert case.description == "首次修改"


def test_update_revalidates_claims_when_the_price_changes(handler, org):
    case = CaseFactory(organization=org, amount_paid=Decimal("100.00"))
    response = handler.patch(f"{URL}{case.pk}/", {"amount_paid": "50.00"}, format="json", HTTP_IF_MATCH="*")
    assert_error(response, 400, attr="claims")  # the refund of 100.00 would now exceed the price
    response = handler.patch(f"{URL}{case.pk}/", {"amount_paid": "50.00",
                                                  "claims": [{"kind": "refund", "amount": "50.00"}]}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200 and response.json()["amount_paid"] == "50.00"


def test_supervisor_assigns_within_the_organization_only(supervisor, make_user, org, other_org):
    case = CaseFactory(organization=org)
    mine = make_user(Role.HANDLER)
    theirs = make_user(Role.HANDLER, organization=other_org)
    url = f"{URL}{case.pk}/assign/"
    assert_error(supervisor.post(url, {"assignee": theirs.pk}, format="json"), 400, attr="assignee")
    response = supervisor.post(url, {"assignee": mine.pk}, format="json")
    assert response.status_code == 200 and response.json()["assignee"] == mine.pk
    assert supervisor.get(URL, {"assignee": mine.pk}).json()["count"] == 1


def test_history_lists_events(handler, org):
    case = CaseFactory(organization=org)
    handler.post(f"{URL}{case.pk}/transition/", {"to": "negotiating"}, format="json")
    events = handler.get(f"{URL}{case.pk}/history/").json()
    assert [e["kind"] for e in events] == ["status_changed"]


def test_partner_create_is_idempotent(partner, platform):
    data = payload(platform)
    first = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = partner.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    other = partner.post(URL, payload(platform, order_number="OTHER"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(other, 409, "idempotency_key_reused")


def test_partner_sees_only_partner_filed_cases(partner, org, platform, intake):
    intake.post(URL, payload(platform, order_number="STAFF-1"), format="json")
    partner.post(URL, payload(platform, order_number="APP-1"), format="json")
    listed = partner.get(URL).json()
    assert [c["order_number"] for c in listed["results"]] == ["APP-1"]
    staff_case = Case.objects.get(order_number="STAFF-1")
    assert_error(partner.get(f"{URL}{staff_case.pk}/"), 404)


def test_revoked_key_is_401(partner, partner_key):
    from cases.services import api_key_revoke

    api_key_revoke(key=partner_key[0])
    assert_error(partner.get(URL), 401)


def test_api_key_is_stored_hashed(partner_key):
    key, raw = partner_key
    assert raw not in (key.hashed_key, key.prefix) and raw.startswith(f"km_{key.prefix}.")
