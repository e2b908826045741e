from typing import Any

from drf_spectacular.utils import OpenApiExample

ACCEPT = OpenApiExample("Accept (受理)", request_only=True, value={"decision": "accept", "note": ""})
REFUSE = OpenApiExample("Refuse: not for personal consumption", request_only=True, value={
    "decision": "refuse", "ground": "not_consumption",
    "note": "投诉人自述批量购买点卡用于转售，非为生活消费需要。"})
FORWARD = OpenApiExample("Forward to the platform's domicile", request_only=True, value={
    "decision": "forward", "forwarded_to": "杭州市余杭区市场监督管理局",
    "note": "平台内经营者未提供有效经营地址，转送平台经营者住所地。"})
_CLOCK: dict[str, Any] = {"due_at": "2026-05-15T23:59:59+08:00", "limit": 7, "unit": "working_days", "units_given_back": 0,
          "running": False, "overdue": False,
          "rule": {"law": "《市场监督管理投诉举报处理办法》(国家市场监督管理总局令第121号)", "article": None, "value": "7.00",
                   "unit": "working_days", "effective_from": "2026-04-15", "confirmed": False}}
PROCEDURE = OpenApiExample("A procedure after acceptance", response_only=True, value={
    "case": 42, "track": "market_regulator", "stage": "accepted", "registered_at": "2026-05-06T10:00:00+08:00",
    "rules_on": "2026-05-06", "decision": "accept", "ground": None, "ground_citation": None, "decision_note": "",
    "forwarded_to": "",
    "competent_place": {"where": "platform_domicile", "name": "某网络科技有限公司", "address": "浙江省杭州市余杭区某路8号"},
    "decided_at": "2026-05-08T15:00:00+08:00", "decided_by": "handler1", "approved_by": None,
    "acceptance_clock": _CLOCK,
    "mediation_clock": {**_CLOCK, "due_at": "2026-07-13T23:59:59+08:00", "limit": 45, "running": True,
                        "rule": {**_CLOCK["rule"], "value": "45.00"}},
    "provisional": False, "paused_at": None, "paused_waiting_on": None, "pauses": [], "agreement": None,
    "termination": None, "closed_at": None, "updated_at": "2026-05-08T15:00:00+08:00"})
SESSION = OpenApiExample("A mediation session", request_only=True, value={
    "held_at": "2026-05-12T14:00:00+08:00", "mode": "phone", "mediator": "王调解员", "consumer_attended": True,
    "merchant_representative": "李某（店铺客服主管）", "consumer_proposal": "全额退款100元",
    "merchant_proposal": "补发卡密或退款80元", "outcome": "continue", "note": ""})
PAUSE = OpenApiExample("Wait for the merchant's transaction records", request_only=True, value={
    "waiting_on": "merchant", "reason": "等待商家提交发货记录"})
AGREEMENT = OpenApiExample("Agreement", request_only=True, value={
    "amount": "100.00", "pay_by": "2026-05-20", "terms": "被投诉人通过原支付渠道退还投诉人货款100元。",
    "if_unpaid": "投诉人可就未履行部分向人民法院起诉，本会将依法支持起诉。"})
TERMINATE = OpenApiExample("Terminate: the merchant refused mediation", request_only=True, value={
    "reason": "refused_to_mediate", "note": "被投诉人经两次通知无正当理由未参加调解。"})
SUPPORT = OpenApiExample("Support to sue", request_only=True, value={
    "court": "北京市朝阳区人民法院", "facts_found": "经本会调查，被告交付的卡密在交付时已被使用。",
    "opinion": "被告交付的商品不符合约定，应当退还货款并赔偿损失。"})
PUBLIC_INTEREST = OpenApiExample("Open a public-interest file", request_only=True, value={
    "title": "某卡盟平台批量销售无效卡密案", "platform": 3, "respondent": "某网络科技有限公司",
    "conduct": "平台大量销售已核销的游戏点卡卡密，涉及消费者众多。"})
STATS = OpenApiExample("Figures", response_only=True, value={
    "registered": 120, "pending": 6, "accepted": 98, "refused": 12,
    "refused_by_ground": {"not_consumption": 4, "before_other_body": 3, "no_respondent": 2, "limitation": 1,
                          "outside_remit": 2},
    "forwarded": 4, "decided_on_time": 110, "mediating": 20, "agreements": 60, "performed": 55,
    "performed_on_time": 50, "agreements_overdue": 2, "terminated": 18, "lawsuits_supported": 3,
    "median_days_to_acceptance": 2.1, "median_days_to_close": 19.5})
