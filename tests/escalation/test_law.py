"""Realistic cases through the API: the channel a seasoned handler would choose, the clocks around
2026-04-15 (总局令第121号) and into 2027, the warnings, and the documents' required parts."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from cases.codes import Status
from escalation.calendar import Calendar
from escalation.lawbook import RuleBook
from escalation.models import Deadline, RuleVersion, SmallClaimsLimit
from escalation.services import deadlines_recount_rules
from tests.factories import PlatformFactory
from tests.helpers import assert_error, payload

from .conftest import SH, at
from .test_recommendation_and_letter import add_escalation, rec

pytestmark = pytest.mark.django_db


def end(y, m, d):
    return timezone.datetime(y, m, d, 23, 59, 59, tzinfo=SH)


def escalate(client, case, channel, submitted_at, **extra):
    body = {"channel": channel, "submitted_at": submitted_at.isoformat(), **extra}
    response = client.post(f"/api/v1/cases/{case.pk}/escalations/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deadline_of(client, escalation_id):
    for row in client.get("/api/v1/deadlines/", {"page_size": 100}).json()["results"]:
        if row["escalation"] == escalation_id:
            return row
    raise AssertionError("no open deadline for the escalation")


# --- 1. rule versions -------------------------------------------------------------------------------

def test_12315_complaints_before_and_after_2026_04_15_run_on_their_own_rules(handler, make_case):
    old_case = make_case(purchased_at=at(2026, 4, 1), delivered_at=at(2026, 4, 1, 11), problem_found_at=at(2026, 4, 2))
    new_case = make_case(purchased_at=at(2026, 4, 1), delivered_at=at(2026, 4, 1, 11), problem_found_at=at(2026, 4, 2))
    skip = {"skip_reason": "other", "skip_note": "商家、平台均电话拒绝"}
    old = escalate(handler, old_case, "12315", at(2026, 4, 14, 16), **skip)
    new = escalate(handler, new_case, "12315", at(2026, 4, 15, 9), **skip)
    assert old["due_at"] == end(2026, 4, 23).isoformat()  # 15, 16, 17, 20, 21, 22, 23 April
    assert new["due_at"] == end(2026, 4, 24).isoformat()
    old_rule, new_rule = deadline_of(handler, old["id"])["rule"], deadline_of(handler, new["id"])["rule"]
    assert "暂行办法" in old_rule["law"] and old_rule["article"] == "第十四条" and old_rule["confirmed"] is True
    assert "第121号" in new_rule["law"] and new_rule["effective_from"] == "2026-04-15"
    assert new_rule["confirmed"] is False  # the new text's limit could not be confirmed: said, not assumed


def test_a_supervisor_adds_a_rule_version_and_open_deadlines_are_recounted(handler, make_case):
    old_case = make_case(purchased_at=at(2026, 4, 1), delivered_at=at(2026, 4, 1, 11), problem_found_at=at(2026, 4, 2))
    new_case = make_case(purchased_at=at(2026, 4, 1), delivered_at=at(2026, 4, 1, 11), problem_found_at=at(2026, 4, 2))
    skip = {"skip_reason": "other", "skip_note": "商家、平台均拒绝"}
    old = escalate(handler, old_case, "12315", at(2026, 4, 14, 16), **skip)
    new = escalate(handler, new_case, "12315", at(2026, 4, 15, 9), **skip)
    version = RuleVersion.objects.get(key="12315_acceptance", effective_from=date(2026, 4, 15))
    version.value, version.article, version.confirmed = Decimal(10), "第十六条", True
    version.save()
    assert deadlines_recount_rules() == 1
    assert deadline_of(handler, old["id"])["due_at"] == end(2026, 4, 23).isoformat()
    moved = deadline_of(handler, new["id"])
    assert moved["due_at"] == end(2026, 4, 29).isoformat() and moved["working_days"] == 10
    assert moved["rule"]["article"] == "第十六条" and moved["rule"]["confirmed"] is True


def test_the_rule_book_falls_back_to_the_seed_and_picks_by_date():
    RuleVersion.objects.all().delete()
    book = RuleBook.load()
    assert book.get("12315_acceptance", date(2026, 4, 14)).article == "第十四条"
    assert book.get("12315_acceptance", date(2026, 4, 15)).confirmed is False
    assert book.get("small_claims_term", date(2026, 6, 1)).article == "第一百六十九条"


# --- the clocks: art. 203 and 2027 --------------------------------------------------------------------

def test_small_claims_are_decided_within_two_months_and_a_holiday_end_moves_to_the_next_working_day(
        supervisor, make_case):
    case = make_case(purchased_at=at(2026, 5, 1), delivered_at=at(2026, 5, 1, 11), problem_found_at=at(2026, 5, 2))
    body = escalate(supervisor, case, "small_claims", at(2026, 6, 30, 10), skip_reason="other", skip_note="直接起诉")
    # 2 months from 30 June end on Sunday 30 August 2026: the next working day, Monday 31 August
    assert body["due_at"] == end(2026, 8, 31).isoformat()
    row = deadline_of(supervisor, body["id"])
    assert row["day_based"] is True and "第一百六十九条" in row["rule"]["article"]


def test_2027_counts_the_statutory_spring_festival_and_stays_provisional():
    due, provisional = Calendar.load().add_working_days(at(2027, 2, 4), 7)
    # 除夕 5 Feb, 初一–初三 6–8 Feb (Sat and Sun made up on 9 and 10 Feb): first working day 11 Feb
    assert due == end(2027, 2, 19) and provisional is True
    due, provisional = Calendar.load().add_days(at(2027, 9, 20), 10)  # ends 30 Sep
    assert due == end(2027, 9, 30) and provisional is True
    due, _p = Calendar.load().add_days(at(2027, 9, 21), 10)  # ends on 国庆 1 Oct: moves past 1–5 Oct
    assert due == end(2027, 10, 6)


# --- 3. the ladder and the clock together --------------------------------------------------------------

def test_a_24_hour_platform_window_closing_before_the_merchants_48_hours_is_said_at_once(handler):
    now = timezone.now()
    platform = PlatformFactory(complaint_window_hours=24)
    response = handler.post("/api/v1/cases/", payload(
        platform, order_number="WIN-24", purchased_at=(now - timedelta(hours=3)).isoformat(),
        delivered_at=(now - timedelta(hours=2)).isoformat(), problem_found_at=(now - timedelta(hours=1)).isoformat(),
    ), format="json")
    assert response.status_code == 201, response.content
    from cases.models import Case

    case = Case.objects.get(pk=response.json()["id"])
    assert Deadline.objects.get(case=case, kind="platform_window").warning  # said at once, on registration
    body = rec(handler, case)
    assert body["channel"] == "platform" and body["skip_reason"] == "platform_window"
    assert any("平台投诉时限" in w for w in body["warnings"])
    escalate(handler, case, "merchant", now - timedelta(minutes=5))
    body = rec(handler, case)
    assert body["channel"] == "platform" and body["rules"][0] == "window_closes_first"
    window = Deadline.objects.get(case=case, kind="platform_window")
    assert "in parallel" in window.warning or "同时" in window.warning
    listed = [d for d in handler.get("/api/v1/deadlines/", {"case": case.pk}).json()["results"]
              if d["kind"] == "platform_window"]
    assert listed and listed[0]["warning"]


def test_a_report_to_the_market_regulator_runs_on_its_own_15_working_day_clock(handler, make_case):
    case = make_case(deception="false_advertising", purchased_at=at(2026, 9, 1), delivered_at=at(2026, 9, 1, 11),
                     problem_found_at=at(2026, 9, 2))
    body = escalate(handler, case, "market_regulator", at(2026, 9, 21, 10), skip_reason="other", skip_note="举报虚假宣传")
    row = deadline_of(handler, body["id"])
    assert row["kind"] == "report_decision" and row["working_days"] == 15
    # 22, 23, 24 Sep, [25–27 Mid-autumn], 28, 29, 30 Sep, [1–7 Oct National Day], 8, 9, 10 (Saturday worked),
    # 12, 13, 14, 15, 16, 19 Oct: the 15th working day
    assert body["due_at"] == end(2026, 10, 19).isoformat()
    assert "行政处罚程序规定" in row["rule"]["law"] and row["rule"]["confirmed"] is False


# --- 4. routing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("payment", "channel"), [("credit_card", "card_chargeback"), ("wechat", "payment_dispute"),
                                                   ("platform_balance", "police")])
def test_money_taken_goes_to_the_payments_own_dispute_channel(handler, make_case, payment, channel):
    case = make_case(dispute_type="fraud", fraud_suspected=True, payment_channel=payment)
    body = rec(handler, case)
    assert body["channel"] == channel
    if payment == "platform_balance":
        assert any("平台余额" in w for w in body["warnings"])


def test_cross_border_paid_by_alipay_is_not_a_card_chargeback(handler, make_case):
    case = make_case(platform=PlatformFactory(cross_border=True), payment_channel="alipay")
    body = rec(handler, case)
    assert body["channel"] == "payment_dispute"
    assert "card_chargeback" not in [a["channel"] for a in body["also"]]


def test_a_small_fraud_is_still_reportable_and_the_threshold_is_3000(handler, make_case):
    case = make_case(dispute_type="fraud", fraud_suspected=True, amount_paid=Decimal("50.00"),
                     payment_channel="platform_balance", claims=[{"kind": "refund", "amount": Decimal("50.00")}])
    body = rec(handler, case)
    assert body["channel"] == "police"
    assert any("3000" in w and "累计" in w for w in body["warnings"])


def test_double_filing_with_12315_and_the_consumer_association_is_warned_and_never_recommended(handler, case):
    add_escalation(case, "merchant", 1, outcome="refused")
    add_escalation(case, "platform", 2, outcome="refused")
    add_escalation(case, "12315", 3, outcome="refused")
    body = rec(handler, case)
    assert body["channel"] != "consumer_association"
    assert "consumer_association" not in [a["channel"] for a in body["also"]]
    assert any("重复投诉" in w and "不予受理" in w for w in body["warnings"])


def test_a_reseller_is_never_sent_to_12315(handler, make_case):
    case = make_case(for_resale=True)
    add_escalation(case, "merchant", 1, outcome="refused")
    add_escalation(case, "platform", 2, outcome="refused")
    body = rec(handler, case)
    assert body["channel"] in ("small_claims", "lawsuit")
    assert not {"12315", "consumer_association"} & {a["channel"] for a in body["also"]}
    assert any("生活消费" in w for w in body["warnings"])


def test_a_minors_purchase_names_the_guardians_refund_route(handler, make_case):
    body = rec(handler, make_case(consumer_is_minor=True))
    assert any("第一百四十五条" in w and "监护人" in w for w in body["warnings"])


def test_a_data_leak_goes_to_wangxin_with_the_pipl_request_and_the_police(handler, make_case):
    body = rec(handler, make_case(dispute_type="data_leak"))
    assert body["channel"] == "cyberspace_admin"
    also = {a["channel"]: a["reason"] for a in body["also"]}
    assert "第五十条" in also["platform"] and "police" in also


def _through_third_parties(case):
    for channel, level in (("merchant", 1), ("platform", 2), ("12315", 3)):
        add_escalation(case, channel, level, outcome="refused")


def test_small_claims_by_the_provinces_limit(handler, make_case):
    beijing = make_case(amount_paid=Decimal("60000.00"), consumer_province="11",
                        claims=[{"kind": "refund", "amount": Decimal("60000.00")}])
    henan = make_case(amount_paid=Decimal("60000.00"), consumer_province="41",
                      claims=[{"kind": "refund", "amount": Decimal("60000.00")}])
    for case in (beijing, henan):
        _through_third_parties(case)
    assert rec(handler, beijing)["channel"] == "small_claims"
    body = rec(handler, henan)
    assert body["channel"] == "lawsuit"
    SmallClaimsLimit.objects.create(province="41", wage_year=2025, limit=Decimal("61000"),
                                    applies_from=date(2026, 6, 1), confirmed=True, source="河南省高级人民法院")
    body = rec(handler, henan)
    assert body["channel"] == "small_claims" and "第一百六十九条" in body["reasons"][0]
    assert "两个月" in body["reasons"][0]


def test_without_a_province_an_amount_above_the_floor_is_a_lawsuit_with_a_warning(handler, make_case):
    case = make_case(amount_paid=Decimal("80000.00"), claims=[{"kind": "refund", "amount": Decimal("80000.00")}])
    _through_third_parties(case)
    body = rec(handler, case)
    assert body["channel"] == "lawsuit"
    assert any("省份" in w for w in body["warnings"])


# --- 2. punitive damages, 5. refunds of digital goods ------------------------------------------------

def test_punitive_damages_need_deception_not_a_dispute_type(handler, platform):
    body = payload(platform, dispute_type="not_as_described", order_number="FACE-1",
                   claims=[{"kind": "refund", "amount": "98.50"}, {"kind": "punitive"}])
    assert_error(handler.post("/api/v1/cases/", body, format="json"), 400, attr="claims")
    body.update(deception="false_advertising", description="宣传面值100元，实际到账50元")
    response = handler.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    text = handler.get(f"/api/v1/cases/{case_id}/documents/complaint_12315/").content.decode()
    assert "第五十五条" in text and "虚假宣传" in text


def test_a_lawsuit_without_deception_does_not_cite_art_55(handler, make_case):
    case = make_case(claims=[{"kind": "refund", "amount": Decimal("100.00")}])
    text = handler.get(f"/api/v1/cases/{case.pk}/documents/civil_complaint/").content.decode()
    assert "第五十五条" not in text and "第五百七十七条" in text


def test_a_key_redeemed_before_delivery_is_a_defect_refund(handler, platform):
    body = payload(platform, order_number="KEY-1", key_redeemed_on_receipt=True)
    response = handler.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert response.json()["key_redeemed_on_receipt"] is True
    basis = handler.get(f"/api/v1/cases/{case_id}/recommendation/").json()["refund_basis"]
    assert "第二十四条" in basis and "第二十五条" in basis and "核销" in basis
    text = handler.get(f"/api/v1/cases/{case_id}/letter/", {"channel": "merchant"}).content.decode()
    assert "已被核销" in text


# --- 7. documents -------------------------------------------------------------------------------------

def test_the_civil_complaint_names_the_real_operator_never_the_nickname(handler, make_case):
    case = make_case()
    from cases.models import Merchant

    merchant = Merchant.objects.create(platform=case.platform, name="星辰点卡店", operator_name="王五",
                                       operator_address="浙江省杭州市西湖区某路1号", operator_credit_code="330106199001011234")
    case.merchant = merchant
    case.save()
    text = handler.get(f"/api/v1/cases/{case.pk}/documents/civil_complaint/").content.decode()
    for part in ("民事起诉状", "原告：张三", "被告：王五", "浙江省杭州市西湖区某路1号", "诉讼请求：", "判令被告退还货款100.00元",
                 "事实与理由：", "证据和证据来源：", "此致", "人民法院", "具状人：张三", "副本1份"):
        assert part in text, (part, text)
    assert "被告：星辰点卡店" not in text


def test_the_civil_complaint_says_what_to_obtain_first_when_the_defendant_is_unknown(handler, make_case):
    case = make_case(platform=PlatformFactory(company_name=""))
    text = handler.get(f"/api/v1/cases/{case.pk}/documents/civil_complaint/").content.decode()
    assert "起诉前须先取得被告信息" in text and "第二十七条" in text and "第四十四条" in text


def test_the_police_report_and_the_payment_request(handler, make_case):
    case = make_case(dispute_type="fraud", fraud_suspected=True, payee_account="6222****1234",
                     payment_reference="2026111822001400001234567890",
                     claims=[{"kind": "refund", "amount": Decimal("100.00")},
                             {"kind": "punitive", "amount": Decimal("500.00")}])
    police = handler.get(f"/api/v1/cases/{case.pk}/documents/police_report/").content.decode()
    for part in ("报案材料", "第二百六十六条", "6222****1234", "立案侦查", "追缴", "涉案金额：人民币100.00元"):
        assert part in police, part
    pay = handler.get(f"/api/v1/cases/{case.pk}/documents/payment_dispute/").content.decode()
    assert "2026111822001400001234567890" in pay and "惩罚性" not in pay and "第五十五条" not in pay


def test_documents_as_docx_and_in_english(handler, case):
    from docx import Document

    response = handler.get(f"/api/v1/cases/{case.pk}/documents/complaint_platform/", {"format": "docx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    paragraphs = [p.text for p in Document(io.BytesIO(response.content)).paragraphs]
    assert paragraphs[0] == "投诉书" and any("第六十二条" in p for p in paragraphs)
    english = handler.get(f"/api/v1/cases/{case.pk}/documents/civil_complaint/", {"lang": "en"}).content.decode()
    assert "Statement of Claim" in english and "for reference" in english


def test_documents_bad_input_is_a_400_and_other_organizations_a_404(handler, case, other_case, analyst):
    url = f"/api/v1/cases/{case.pk}/documents/"
    assert_error(handler.get(url + "ransom_note/"), 400, attr="kind")
    assert_error(handler.get(url + "complaint_12315/", {"format": "pdf"}), 400, attr="format")
    assert_error(handler.get(url + "complaint_12315/", {"lang": "fr"}), 400, attr="lang")
    assert_error(handler.get(f"/api/v1/cases/{other_case.pk}/documents/complaint_12315/"), 404)
    assert_error(analyst.get(url + "complaint_12315/"), 403)


def test_chinese_documents_use_full_width_punctuation(handler, case):
    text = handler.get(f"/api/v1/cases/{case.pk}/documents/complaint_12315/").content.decode()
    body = text.replace(case.platform.domains[0], "")
    assert "：" in body and "，" in body and "(" not in body and ":" not in body.replace("SHA-256", "")


# --- 9. words -----------------------------------------------------------------------------------------

def test_words_intake_is_registration_and_reasons_have_no_internal_notes(handler, case):
    with translation.override("zh-hans"):
        assert str(Status.INTAKE.label) == "登记"
    for lang in ("zh-hans", "en"):
        body = rec(handler, case, lang=lang)
        assert not any("seed" in r for r in body["reasons"] + [a["reason"] for a in body["also"]])


def test_a_deadline_met_late_says_so(handler, case):
    escalation = add_escalation(case, "merchant", 1)
    Deadline.objects.create(case=case, escalation=escalation, kind="merchant_answer", starts_at=timezone.now(),
                            due_at=timezone.now() - timedelta(hours=1), status="met", met_at=timezone.now(), hours=48)
    rows = handler.get(f"/api/v1/deadlines/{Deadline.objects.get(escalation=escalation).pk}/").json()
    assert rows["met_late"] is True


# --- 6. evidence the buyer can get ---------------------------------------------------------------------

def test_an_account_recovered_by_its_owner_needs_the_recovery_notice_not_the_sellers_login_records(handler, make_case):
    case = make_case(dispute_type="account_recovered", product_type="game_account")
    body = handler.get(f"/api/v1/cases/{case.pk}/completeness/").json()
    recovery = [m for m in body["missing"] if m["stage"] == "problem"][0]
    assert recovery["kind"] == "error_screenshot" and "无需提供" in recovery["message"]
    assert any("包赔" in m["message"] for m in body["missing"])
    assert any("第六十二条" in n for n in body["notes"])
    assert [f["field"] for f in body["facts_missing"]] == ["respondent"]


def test_the_alert_carries_the_window_warning():
    from notifications.services.emails import _alert_text

    payload = {"kind": "due_soon_24h", "reference": "KM-2026-000001",
               "deadline": {"kind": "platform_window", "due_at": "2026-11-22T10:00:00+08:00",
                            "warning": "平台投诉时限将于2026-11-22 10:00截止，早于商家48小时答复期届满"}}
    with translation.override("zh-hans"):
        _subject, body = _alert_text(payload)
    assert "早于商家48小时答复期届满" in body


def test_a_supervisor_adds_a_rule_version_in_the_admin_and_the_open_clocks_follow(handler, make_case):
    from tests.cases.test_admin import staff

    case = make_case(purchased_at=at(2026, 4, 1), delivered_at=at(2026, 4, 1, 11), problem_found_at=at(2026, 4, 2))
    body = escalate(handler, case, "12315", at(2026, 5, 6, 9), skip_reason="other", skip_note="均拒绝")
    assert body["due_at"] == end(2026, 5, 14).isoformat()  # 7, 8, 9 (Saturday worked), 11, 12, 13, 14 May
    _user, client = staff("supervisor")
    listing = client.get("/admin/escalation/ruleversion/")
    assert listing.status_code == 200
    assert "未核实" in listing.content.decode() or "unconfirmed" in listing.content.decode()
    RuleVersion.objects.filter(key="12315_acceptance", effective_from=date(2026, 4, 15)).update(
        effective_to=date(2026, 4, 30))
    response = client.post("/admin/escalation/ruleversion/add/", {
        "key": "12315_acceptance", "value": "5", "unit": "working_days", "law": "《市场监督管理投诉举报处理办法》",
        "article": "第十四条", "quote": "", "source_url": "https://www.samr.gov.cn/", "effective_from": "2026-05-01",
        "confirmed": "on", "note": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    row = deadline_of(handler, body["id"])
    assert row["due_at"] == end(2026, 5, 12).isoformat() and row["rule"]["effective_from"] == "2026-05-01"
    assert _user.has_perm("escalation.add_ruleversion")


def test_filing_with_the_consumer_association_after_12315_is_warned_on_the_clock(handler, make_case):
    case = make_case(purchased_at=at(2026, 9, 1), delivered_at=at(2026, 9, 1, 11), problem_found_at=at(2026, 9, 2))
    escalate(handler, case, "12315", at(2026, 9, 10), skip_reason="other", skip_note="均拒绝")
    second = escalate(handler, case, "consumer_association", at(2026, 9, 11))
    warning = deadline_of(handler, second["id"])["warning"]
    assert "12315" in warning and "不予受理" in warning


def test_a_report_to_the_market_regulator_is_a_report_not_a_complaint(handler, make_case):
    case = make_case(deception="false_advertising")
    text = handler.get(f"/api/v1/cases/{case.pk}/letter/", {"channel": "market_regulator"}).content.decode()
    assert text.startswith("举报信") and "举报人：张三" in text and "被举报人" in text and "三、举报请求" in text
    assert "三、投诉请求" not in text


def test_not_as_described_without_recorded_deception_points_to_false_advertising(handler, make_case):
    body = rec(handler, make_case(dispute_type="not_as_described", product_type="membership"))
    assert any("终身会员" in w and "第五十五条" in w for w in body["warnings"])
    body = rec(handler, make_case(dispute_type="not_as_described", deception="false_advertising"))
    assert not any("终身会员" in w for w in body["warnings"])
