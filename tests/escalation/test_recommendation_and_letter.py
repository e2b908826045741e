from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from cases.codes import ClaimKind
from escalation.codes import Channel
from escalation.letter import letter_text
from escalation.models import Escalation
from escalation.recommendation import recommend
from evidence.services import evidence_add, evidence_withdraw
from evidence.uploads import upload_from_bytes
from kameng_api.core.roles import Role
from tests.factories import PlatformFactory, UserFactory
from tests.helpers import assert_error, png

pytestmark = pytest.mark.django_db


def rec(client, case, lang=None):
    headers = {"HTTP_ACCEPT_LANGUAGE": lang} if lang else {}
    response = client.get(f"/api/v1/cases/{case.pk}/recommendation/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def add_escalation(case, channel, level, outcome="pending", hours_ago=100, due_in_hours=-1):
    now = timezone.now()
    return Escalation.objects.create(case=case, channel=channel, level=level,
                                     submitted_at=now - timedelta(hours=hours_ago), outcome=outcome,
                                     due_at=now + timedelta(hours=due_in_hours))


def test_a_new_case_starts_with_the_merchant(handler, case):
    body = rec(handler, case)
    assert body["channel"] == "merchant" and body["level"] == 1
    assert body["rules"] == ["start_with_merchant"] and "seed" not in body["reasons"][0]
    assert "第三十九条" in body["reasons"][0]
    assert body["due_at"] and body["skip_reason"] is None  # null, not "" (outside the enum)


def test_platform_absconded_goes_to_the_payment_dispute_and_the_police(handler, make_case):
    case = make_case(dispute_type="platform_absconded")
    body = rec(handler, case)
    assert body["channel"] == "payment_dispute" and body["level"] == 3
    assert body["skip_reason"] == "platform_absconded"
    assert "police" in [a["channel"] for a in body["also"]]
    assert "seed" not in body["reasons"][0]


def test_fraud_paid_by_alipay_goes_to_the_payment_dispute_and_the_police_whatever_the_amount(handler, make_case):
    case = make_case(amount_paid=Decimal("6800.00"), fraud_suspected=True, dispute_type="fraud",
                     claims=[{"kind": ClaimKind.REFUND, "amount": Decimal("6800.00")}])
    body = rec(handler, case)
    assert body["channel"] == "payment_dispute" and body["skip_reason"] == "fraud"
    police = [a for a in body["also"] if a["channel"] == "police"]
    assert police and "第二百六十六条" in police[0]["reason"] and "5000" not in police[0]["reason"]


def test_small_fraud_paid_by_alipay_goes_to_the_payment_dispute(handler, make_case):
    case = make_case(fraud_suspected=True, dispute_type="fraud", payment_channel="alipay")
    assert rec(handler, case)["channel"] == "payment_dispute"


def test_cross_border_goes_to_the_card_chargeback(handler, make_case):
    case = make_case(platform=PlatformFactory(cross_border=True), payment_channel="credit_card")
    body = rec(handler, case, lang="en")
    assert body["channel"] == "card_chargeback" and body["skip_reason"] == "cross_border"
    assert "chargeback" in body["reasons"][0] and "seed" not in body["reasons"][0]


def test_data_leak_goes_to_the_cyberspace_administration(handler, make_case):
    body = rec(handler, make_case(dispute_type="data_leak"))
    assert body["channel"] == "cyberspace_admin"
    assert "网信" in body["reasons"][0]


def test_merchant_silent_for_48_hours_goes_to_the_platform(handler, case):
    add_escalation(case, "merchant", 1, hours_ago=60, due_in_hours=-12)
    body = rec(handler, case)
    assert body["channel"] == "platform" and body["rules"][0] == "merchant_failed"


def test_waiting_for_the_merchant_says_so(handler, case):
    add_escalation(case, "merchant", 1, hours_ago=2, due_in_hours=46)
    body = rec(handler, case, lang="en")
    assert body["channel"] == "platform"
    assert any("Waiting for the answer of merchant" in r for r in body["reasons"])


def test_no_platform_answer_in_time_goes_to_12315(handler, case):
    add_escalation(case, "merchant", 1, outcome="refused")
    add_escalation(case, "platform", 2, hours_ago=200, due_in_hours=-24)
    body = rec(handler, case)
    assert body["channel"] == "12315" and body["level"] == 3
    assert "7个工作日" in body["reasons"][0]


def test_platform_without_icp_goes_to_12315_and_the_communications_administration(handler, make_case):
    case = make_case(platform=PlatformFactory(icp_number=""))
    add_escalation(case, "merchant", 1, outcome="refused")
    add_escalation(case, "platform", 2, outcome="refused")
    body = rec(handler, case)
    assert body["channel"] == "12315"
    also = {a["channel"] for a in body["also"]}
    assert "communications_admin" in also and "market_regulator" not in also


def test_third_party_failed_small_amount_goes_to_small_claims(handler, case):
    for channel, level in (("merchant", 1), ("platform", 2), ("12315", 3)):
        add_escalation(case, channel, level, outcome="refused")
    body = rec(handler, case)
    assert body["channel"] == "small_claims"
    assert "public_complaint" in [a["channel"] for a in body["also"]]


def test_recommendation_roles(anon, analyst, intake, case):
    assert_error(anon.get(f"/api/v1/cases/{case.pk}/recommendation/"), 401)
    assert_error(analyst.get(f"/api/v1/cases/{case.pk}/recommendation/"), 403)
    assert rec(intake, case)["channel"] == "merchant"


# --- letters -----------------------------------------------------------------------------------------

@pytest.fixture
def letter_case(make_case):
    return make_case(order_number="DD20261101123456", merchant_promise="卡密保证可用,无效包换",
                     description="卡密提示已被使用", dispute_type="unfair_terms")


REQUIRED_ZH = {
    "complaint": ("一、事实", "二、依据", "三、投诉请求", "四、证据清单", "被投诉人", "联系电话"),
    "report": ("举报信", "一、事实", "二、依据", "三、举报请求", "四、证据清单", "被举报人", "联系电话"),
    "civil_complaint": ("民事起诉状", "原告", "被告", "诉讼请求", "事实与理由", "证据和证据来源", "此致", "人民法院", "具状人",
                        "副本"),
    "police_report": ("报案材料", "第二百六十六条", "立案侦查", "收款账户", "涉案金额"),
    "payment_dispute": ("交易争议处理申请", "交易流水号", "申请事项"),
}


def _family(channel):
    from escalation.documents import kind_of_channel

    kind = kind_of_channel(channel)
    if channel in ("market_regulator", "communications_admin"):
        return "report"
    return "complaint" if kind.startswith("complaint") else kind


@pytest.mark.parametrize("channel", Channel.values)
def test_letters_in_chinese_for_every_channel(handler, letter_case, channel):
    response = handler.get(f"/api/v1/cases/{letter_case.pk}/letter/", {"lang": "zh-hans", "channel": channel})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for part in (*REQUIRED_ZH[_family(channel)], "张三", "DD20261101123456", "100.00", letter_case.platform.name):
        assert part in text, (part, text)
    assert letter_case.consumer.id_number not in text
    assert "(seed" not in text and ",无效" not in text.replace("卡密保证可用,无效包换", "")


@pytest.mark.parametrize("channel", Channel.values)
def test_letters_in_english_for_every_channel(handler, letter_case, channel):
    response = handler.get(f"/api/v1/cases/{letter_case.pk}/letter/", {"lang": "en", "channel": channel})
    assert response.status_code == 200, response.content
    text = response.content.decode()
    for part in ("张三", "DD20261101123456", "100.00", "English version for reference"
                 if channel != "merchant" and _family(channel) not in ("complaint", "report") else "Facts"):
        assert part in text, (part, text)
    assert letter_case.consumer.id_number not in text


def test_letter_defaults_to_the_recommended_channel_and_cites_art_55_for_fraud(handler, make_case):
    case = make_case(dispute_type="fraud", fraud_suspected=True, payment_channel="alipay",
                     claims=[{"kind": "refund", "amount": Decimal("100.00")},
                             {"kind": "punitive", "amount": Decimal("500.00")}])
    text = handler.get(f"/api/v1/cases/{case.pk}/letter/").content.decode()
    # the recommended channel is the payment dispute: its request never carries the punitive claim
    assert "支付宝交易争议处理" in text and "第五十五条" not in text and "100.00元" in text
    text = handler.get(f"/api/v1/cases/{case.pk}/letter/", {"channel": "12315"}).content.decode()
    assert "第五十五条" in text and "合计：600.00元" in text


def test_letter_lists_previous_escalations(handler, case):
    Escalation.objects.create(case=case, channel="merchant", level=1, submitted_at=timezone.now(),
                              external_reference="CHAT-1", outcome="refused", response="不退")
    text = letter_text(case, lang="zh-hans", channel="platform")
    assert "CHAT-1" in text and "被拒绝" in text and "不退" in text


def test_letter_bad_input_is_400_in_the_error_format(handler, case, analyst):
    assert_error(handler.get(f"/api/v1/cases/{case.pk}/letter/", {"lang": "fr"}), 400, attr="lang")
    assert_error(handler.get(f"/api/v1/cases/{case.pk}/letter/", {"channel": "pigeon"}), 400, attr="channel")
    assert_error(analyst.get(f"/api/v1/cases/{case.pk}/letter/"), 403)
    response = handler.get(f"/api/v1/cases/{case.pk}/letter/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")


def test_letter_without_evidence_says_attached_separately(case):
    assert "（证据另附）" in letter_text(case)
    assert "(evidence attached separately)" in letter_text(case, lang="en")


def test_letter_lists_the_active_evidence_with_hashes(case, org):
    """The evidence added through the evidence service, read by the letter through the evidence selector;
    a withdrawn item is not listed."""
    handler = UserFactory(role=Role.HANDLER, organization=org)
    when = timezone.now() - timedelta(hours=2)
    screenshot = evidence_add(actor=handler, case=case, upload=upload_from_bytes(png(), "order.png"),
                              kind="order_screenshot", occurred_at=when, description="订单截图")
    chat = evidence_add(actor=handler, case=case, upload=upload_from_bytes(png(), "chat.png"), kind="chat_log",
                        occurred_at=when + timedelta(minutes=5))
    withdrawn = evidence_add(actor=handler, case=case, upload=upload_from_bytes(png(), "x.png"), kind="other",
                             occurred_at=when + timedelta(minutes=9))
    evidence_withdraw(actor=handler, evidence=withdrawn, reason="传错了")
    with translation.override("zh-hans"):
        text = letter_text(case, channel="platform")
        first, second = screenshot.get_kind_display(), chat.get_kind_display()
    assert f"1. {first}：订单截图（SHA-256：{screenshot.sha256}）" in text
    assert f"2. {second}（SHA-256：{chat.sha256}）" in text
    assert withdrawn.sha256 not in text


def test_python_api_refuses_unknown_lang_and_channel(case):
    with pytest.raises(ValueError):
        letter_text(case, lang="de")
    with pytest.raises(ValueError):
        letter_text(case, channel="fax")


def test_recommend_function_directly(case):
    assert recommend(case)["channel"] == "merchant"
