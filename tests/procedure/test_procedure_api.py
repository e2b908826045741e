"""The organization's procedure over HTTP: each path a complaint can take, the clocks against the rule table,
the documents as a person reads them, and bad input."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cases.codes import EventKind, Role
from cases.models import CaseEvent, Organization
from escalation.calendar import Calendar
from escalation.lawbook import RuleBook
from procedure.codes import RefusalGround
from procedure.models import Procedure
from procedure.services import agreements_flag_overdue, procedure_open
from procedure.tasks import agreements_watch
from tests.factories import CaseFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def _org(org, kind, level="city"):
    Organization.objects.filter(pk=org.pk).update(kind=kind, level=level, name="北京市朝阳区消费者协会",
                                                  address="北京市朝阳区某路1号", phone="010-12345678",
                                                  document_prefix="朝消协")
    org.refresh_from_db()
    return org


def _case(client, platform, **extra):
    now = timezone.now()
    body = {"platform": platform.pk, "merchant_name": "星辰点卡店", "order_number": f"P-{now.timestamp()}",
            "product_type": "game_card", "amount_paid": "100.00", "payment_channel": "alipay",
            "purchased_at": (now - timedelta(days=3)).isoformat(), "problem_found_at": (now - timedelta(days=2)).isoformat(),
            "dispute_type": "invalid_code", "description": "卡密提示已被使用",
            "consumer": {"name": "张三", "phone": "13800001111"}, "claims": [{"kind": "refund", "amount": "100.00"}]}
    body.update(extra)
    response = client.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _doc(client, case_id, kind, lang="zh-hans", fmt="txt"):
    listing = client.get(f"/api/v1/cases/{case_id}/documents/").json()
    docs = [d for d in listing["issued"] if d["kind"] == kind]
    assert docs, listing
    response = client.get(docs[-1]["links"][f"{lang}.{fmt}"])
    assert response.status_code == 200
    return response


def test_accepted_mediated_agreement_performed(org, platform, handler, user_client):
    _org(org, "consumer_association")
    case_id = _case(handler, platform)
    state = handler.get(f"/api/v1/cases/{case_id}/acceptance/")
    assert state.status_code == 200
    body = state.json()
    assert body["track"] == "consumer_association" and body["stage"] == "registered"
    proc = Procedure.objects.get(case_id=case_id)
    book = RuleBook.load()
    rule = book.get("association_acceptance", proc.rule_on)
    due, _p = Calendar.load().add_working_days(proc.registered_at, int(rule.value))
    assert body["acceptance_clock"]["limit"] == 7 and body["acceptance_clock"]["rule"]["confirmed"] is False
    assert datetime.fromisoformat(body["acceptance_clock"]["due_at"]) == due
    accepted = handler.post(f"/api/v1/cases/{case_id}/acceptance/", {"decision": "accept"}, format="json",
                            HTTP_IF_MATCH=state["ETag"])
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["stage"] == "accepted"
    assert accepted.json()["mediation_clock"]["limit"] == 45
    notice = _doc(handler, case_id, "acceptance_notice").content.decode()
    for words in ("北京市朝阳区消费者协会", "受理通知书", "朝消协受字〔", "张三：", "第三十七条第一款第（四）项",
                  "决定予以受理", "（印章）", "45个工作日"):
        assert words in notice, (words, notice)
    docx = _doc(handler, case_id, "acceptance_notice", fmt="docx")
    assert docx["Content-Type"].startswith("application/vnd.openxmlformats") and docx.content[:2] == b"PK"
    assert "Notice of acceptance" in _doc(handler, case_id, "acceptance_notice", lang="en").content.decode()

    session = handler.post(f"/api/v1/cases/{case_id}/mediation/", {
        "held_at": timezone.now().isoformat(), "mode": "phone", "merchant_representative": "李四（客服主管）",
        "consumer_proposal": "全额退款", "merchant_proposal": "退款80元", "outcome": "agreement"}, format="json")
    assert session.status_code == 201, session.content
    mediation = handler.get(f"/api/v1/cases/{case_id}/mediation/").json()
    assert mediation["sessions"][0]["merchant_representative"] == "李四（客服主管）"
    pay_by = (timezone.localdate() + timedelta(days=5)).isoformat()
    agreed = handler.post(f"/api/v1/cases/{case_id}/mediation/agreement/", {
        "amount": "100.00", "pay_by": pay_by, "terms": "被投诉人通过原支付渠道退还货款100元。",
        "if_unpaid": "投诉人可以向人民法院起诉。"}, format="json")
    assert agreed.status_code == 200, agreed.content
    agreement = _doc(handler, case_id, "mediation_agreement").content.decode()
    assert "调解协议书" in agreement and "支付人民币100.00元" in agreement and "李四（客服主管）" in agreement
    performed = handler.post(f"/api/v1/cases/{case_id}/mediation/performance/", {"note": "已退款"}, format="json")
    assert performed.json()["stage"] == "performed"
    assert performed.json()["agreement"]["performed_on_time"] is True
    kinds = list(CaseEvent.objects.filter(case_id=case_id).values_list("kind", flat=True))
    assert {EventKind.ACCEPTANCE_DECIDED, EventKind.MEDIATION_SESSION, EventKind.MEDIATION_AGREEMENT,
            EventKind.AGREEMENT_PERFORMED} <= set(kinds)
    stats = user_client(Role.SUPERVISOR).get("/api/v1/procedure/stats/").json()
    assert stats["accepted"] == 1 and stats["performed_on_time"] == 1 and stats["median_days_to_close"] is not None


def test_accepted_terminated_support_to_sue(org, platform, handler, supervisor):
    _org(org, "consumer_association")
    case_id = _case(handler, platform)
    handler.post(f"/api/v1/cases/{case_id}/acceptance/", {"decision": "accept"}, format="json")
    early = handler.post(f"/api/v1/cases/{case_id}/mediation/termination/", {"reason": "time_limit"}, format="json")
    assert early.status_code == 400 and early.json()["errors"][0]["attr"] == "reason"
    ended = handler.post(f"/api/v1/cases/{case_id}/mediation/termination/", {
        "reason": "refused_to_mediate", "note": "被投诉人经两次通知未参加调解"}, format="json")
    assert ended.status_code == 200 and ended.json()["stage"] == "terminated"
    notice = _doc(handler, case_id, "termination_notice").content.decode()
    assert "终止调解告知书" in notice and "第三十九条" in notice and "支持起诉" in notice
    proposed = handler.post(f"/api/v1/cases/{case_id}/lawsuit-support/", {
        "court": "北京市朝阳区人民法院", "facts_found": "经本会调查，卡密在交付前已被使用。",
        "opinion": "被告应退还货款。"}, format="json")
    assert proposed.status_code == 201 and proposed.json()["status"] == "proposed"
    assert handler.post(f"/api/v1/cases/{case_id}/lawsuit-support/approve/").status_code == 403
    approved = supervisor.post(f"/api/v1/cases/{case_id}/lawsuit-support/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    opinion = _doc(handler, case_id, "lawsuit_support").content.decode()
    for words in ("支持起诉意见书", "北京市朝阳区人民法院", "第三十七条第一款第（七）项", "第十五条", "此致",
                  "卡密在交付前已被使用"):
        assert words in opinion, (words, opinion)


@pytest.mark.parametrize("ground", RefusalGround.values)
def test_refused_for_each_ground_after_supervisor_approval(org, platform, handler, supervisor, ground):
    _org(org, "market_regulator")
    extra = {}
    if ground == RefusalGround.LIMITATION:
        old = timezone.now() - timedelta(days=4 * 365)
        extra = {"purchased_at": old.isoformat(), "problem_found_at": (old + timedelta(days=1)).isoformat()}
    case_id = _case(handler, platform, **extra)
    proposed = handler.post(f"/api/v1/cases/{case_id}/acceptance/", {
        "decision": "refuse", "ground": ground, "note": "投诉人自述购买用于转售"}, format="json")
    assert proposed.status_code == 200, proposed.content
    assert proposed.json()["stage"] == "refusal_proposed"
    assert handler.get(f"/api/v1/cases/{case_id}/documents/").json()["issued"] == []
    approved = supervisor.post(f"/api/v1/cases/{case_id}/acceptance/review/", {"approve": True}, format="json")
    assert approved.status_code == 200 and approved.json()["stage"] == "refused"
    assert approved.json()["ground"] == ground
    notice = _doc(handler, case_id, "refusal_notice").content.decode()
    assert "不予受理告知书" in notice and "决定不予受理" in notice and "你可以" in notice
    assert "市场监督管理投诉举报处理办法" in notice  # registered after 2026-04-15: the new measures
    stats = supervisor.get("/api/v1/procedure/stats/").json()
    assert stats["refused"] == 1 and stats["refused_by_ground"][ground] == 1


def test_forward_to_the_platforms_domicile(org, platform, handler):
    _org(org, "market_regulator")
    case_id = _case(handler, platform)
    platform.company_name, platform.address = "某网络科技有限公司", "浙江省杭州市余杭区某路8号"
    platform.save()
    place = handler.get(f"/api/v1/cases/{case_id}/acceptance/").json()["competent_place"]
    assert place == {"where": "platform_domicile", "name": "某网络科技有限公司", "address": "浙江省杭州市余杭区某路8号"}
    response = handler.post(f"/api/v1/cases/{case_id}/acceptance/", {
        "decision": "forward", "forwarded_to": "杭州市余杭区市场监督管理局"}, format="json")
    assert response.json()["stage"] == "forwarded"
    notice = _doc(handler, case_id, "forward_notice").content.decode()
    assert "投诉转送告知书" in notice and "杭州市余杭区市场监督管理局" in notice and "平台经营者住所地" in notice


def test_12315_clocks_follow_the_rule_version_of_the_registration_day(org):
    _org(org, "market_regulator")
    before = procedure_open(case=CaseFactory(organization=org),
                            registered_at=datetime(2026, 4, 14, 10, tzinfo=TZ))
    after = procedure_open(case=CaseFactory(organization=org),
                           registered_at=datetime(2026, 4, 15, 10, tzinfo=TZ))
    assert "暂行办法" in before.acceptance_rule.law and before.acceptance_rule.article == "第十四条"
    assert "第121号" in after.acceptance_rule.law and after.acceptance_rule.confirmed is False
    cal = Calendar.load()
    for proc in (before, after):
        expected, _p = cal.add_working_days(proc.registered_at, int(proc.acceptance_rule.value))
        assert proc.acceptance_due_at == expected
    # 2026-04-14 (Tue) + 7 working days: 15,16,17,20,21,22,23 April
    assert timezone.localtime(before.acceptance_due_at).date() == date(2026, 4, 23)


def test_pause_gives_the_working_days_back(org, platform, handler):
    _org(org, "consumer_association")
    case_id = _case(handler, platform)
    proc = Procedure.objects.get(case_id=case_id)
    start = proc.registered_at
    due = proc.acceptance_due_at
    paused = handler.post(f"/api/v1/cases/{case_id}/mediation/pause/", {"waiting_on": "consumer"}, format="json")
    assert paused.status_code == 200 and paused.json()["paused_waiting_on"] == "consumer"
    assert handler.post(f"/api/v1/cases/{case_id}/mediation/pause/", {"waiting_on": "consumer"},
                        format="json").status_code == 409
    Procedure.objects.filter(pk=proc.pk).update(paused_at=start)
    proc.pauses.update(started_at=start)
    resumed = handler.post(f"/api/v1/cases/{case_id}/mediation/resume/", {}, format="json")
    assert resumed.status_code == 200
    given = resumed.json()["acceptance_clock"]["units_given_back"]
    expected, _p = Calendar.load().add_working_days(start, 7 + given)
    assert datetime.fromisoformat(resumed.json()["acceptance_clock"]["due_at"]) == expected >= due


def test_overdue_agreement_is_flagged_once(org, platform, handler):
    _org(org, "consumer_association")
    case_id = _case(handler, platform)
    handler.post(f"/api/v1/cases/{case_id}/acceptance/", {"decision": "accept"}, format="json")
    handler.post(f"/api/v1/cases/{case_id}/mediation/agreement/", {
        "amount": "50.00", "pay_by": timezone.localdate().isoformat(), "terms": "退款50元",
        "if_unpaid": "可起诉"}, format="json")
    assert agreements_watch() == 0  # due today: not overdue yet
    assert agreements_flag_overdue(now=timezone.now() + timedelta(days=2)) == 1
    assert agreements_flag_overdue(now=timezone.now() + timedelta(days=3)) == 0
    assert CaseEvent.objects.filter(case_id=case_id, kind=EventKind.AGREEMENT_OVERDUE).count() == 1
    assert handler.get(f"/api/v1/cases/{case_id}/mediation/").json()["agreement"]["overdue"] is False
    Procedure.objects.filter(case_id=case_id).update(agreement_pay_by=timezone.localdate() - timedelta(days=1))
    assert handler.get(f"/api/v1/cases/{case_id}/mediation/").json()["agreement"]["overdue"] is True


def test_bad_input_is_refused_clearly(org, other_org, platform, handler, user_client):
    _org(org, "consumer_association")
    case_id = _case(handler, platform)
    url = f"/api/v1/cases/{case_id}/acceptance/"
    missing = handler.post(url, {"decision": "refuse"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["attr"] == "ground"
    assert handler.post(url, {"decision": "maybe"}, format="json").status_code == 400
    assert handler.post(url, {"decision": "forward"}, format="json").json()["errors"][0]["attr"] == "forwarded_to"
    limitation = handler.post(url, {"decision": "refuse", "ground": "limitation"}, format="json")
    assert limitation.status_code == 400 and "不足三年" in limitation.json()["errors"][0]["detail"]
    assert handler.post(url, {"decision": "accept"}, format="json", HTTP_IF_MATCH='"p1-999"').status_code == 409
    assert user_client(Role.INTAKE).post(url, {"decision": "accept"}, format="json").status_code == 403
    assert user_client(Role.HANDLER, other_org).get(url).status_code == 404
    assert handler.post(url, {"decision": "accept"}, format="json").status_code == 200
    assert handler.post(url, {"decision": "accept"}, format="json").status_code == 409
    future = (timezone.now() + timedelta(days=2)).isoformat()
    bad_session = handler.post(f"/api/v1/cases/{case_id}/mediation/", {"held_at": future}, format="json")
    assert bad_session.status_code == 400 and bad_session.json()["errors"][0]["attr"] == "held_at"
    session = handler.post(f"/api/v1/cases/{case_id}/mediation/", {"held_at": timezone.now().isoformat()},
                           format="json").json()
    session_url = f"/api/v1/cases/{case_id}/mediation/sessions/{session['id']}/"
    assert handler.patch(session_url, {"note": "x"}, format="json").status_code == 428
    assert handler.patch(session_url, {"note": "x"}, format="json", HTTP_IF_MATCH='"s0-0"').status_code == 409
    assert handler.patch(session_url, {"note": "改"}, format="json", HTTP_IF_MATCH="*").json()["note"] == "改"
    agreement_url = f"/api/v1/cases/{case_id}/mediation/agreement/"
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    early = handler.post(agreement_url, {"amount": "1", "pay_by": past, "terms": "t", "if_unpaid": "u"},
                         format="json")
    assert early.status_code == 400 and early.json()["errors"][0]["attr"] == "pay_by"
    huge = handler.post(agreement_url, {"amount": "1e20", "pay_by": past, "terms": "t", "if_unpaid": "u"},
                        format="json")
    assert huge.status_code == 400
    assert handler.get(f"/api/v1/cases/{case_id}/documents/issued/1/?lang=fr").status_code in (400, 404)
    assert Procedure.objects.get(case_id=case_id).stage == "accepted"


def test_helper_organization_has_no_procedure(org, platform, handler):
    case_id = _case(handler, platform)
    response = handler.get(f"/api/v1/cases/{case_id}/acceptance/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "no_procedure"


def test_public_interest_only_at_provincial_level(org, platform, handler, user_client):
    _org(org, "consumer_association", level="city")
    body = {"title": "某平台批量销售无效卡密", "respondent": "某网络科技有限公司", "conduct": "大量销售已核销卡密"}
    city = user_client(Role.SUPERVISOR)
    assert city.post("/api/v1/public-interest/", body, format="json").status_code == 409
    _org(org, "consumer_association", level="province")
    opened = city.post("/api/v1/public-interest/", body, format="json")
    assert opened.status_code == 201, opened.content
    case_id = _case(handler, platform)
    victims = f"/api/v1/public-interest/{opened.json()['id']}/victims/"
    assert city.post(victims, {"case": case_id}, format="json").status_code == 201
    assert city.post(victims, {"case": case_id}, format="json").status_code == 409
    assert city.post(victims, {"name": "王五", "loss": "-1"}, format="json").status_code == 400
    assert city.post(victims, {"name": "王五", "loss": "30.00"}, format="json").status_code == 201
    detail = city.get(f"/api/v1/public-interest/{opened.json()['id']}/").json()
    assert detail["victim_count"] == 2 and detail["total_loss"] == "130.00"
    assert handler.get("/api/v1/public-interest/").status_code == 403
    other = OrganizationFactory()
    assert user_client(Role.SUPERVISOR, other).get(f"/api/v1/public-interest/{opened.json()['id']}/").status_code == 404
    assert Decimal(detail["total_loss"]) == Decimal("130.00")


def test_decisions_reach_webhooks_and_the_command_sets_the_type(org, platform, handler):
    from django.core.management import call_command

    from notifications.models import Delivery, WebhookEndpoint

    _org(org, "market_regulator")
    WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/p", secret="s" * 32,
                                   events=["case.acceptance_decided", "case.mediation_terminated"])
    case_id = _case(handler, platform)
    handler.post(f"/api/v1/cases/{case_id}/acceptance/", {"decision": "accept"}, format="json")
    delivery = Delivery.objects.get(event_type="case.acceptance_decided")
    assert delivery.payload["event"]["data"]["decision"] == "accept"
    assert delivery.payload["event"]["data"]["document"].startswith("朝消协受字〔")
    call_command("create_organization", "sh-xbw", "--name", "上海市消保委", "--kind", "consumer_association",
                 "--level", "province")
    assert Organization.objects.get(slug="sh-xbw").level == "province"
