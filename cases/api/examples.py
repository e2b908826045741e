"""OpenAPI examples a partner developer can paste."""

from drf_spectacular.utils import OpenApiExample

CASE_CREATE = OpenApiExample(
    "File an invalid game card",
    request_only=True,
    value={
        "platform": 1,
        "merchant_name": "星辰点卡店",
        "order_number": "DD20261101123456",
        "product_type": "game_card",
        "face_value": "100.00",
        "amount_paid": "98.50",
        "payment_channel": "alipay",
        "purchased_at": "2026-11-01T10:15:00+08:00",
        "delivered_at": "2026-11-01T10:16:00+08:00",
        "problem_found_at": "2026-11-01T10:30:00+08:00",
        "dispute_type": "invalid_code",
        "description": "卡密提示“已被使用”，商家不回复。",
        "merchant_promise": "卡密保证可用，无效包换",
        "consumer": {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"},
        "claims": [{"kind": "refund", "amount": "98.50"}],
    },
)

CASE_RESPONSE = OpenApiExample(
    "A case (detail: the consumer in full; lists mask it as 张*, 138****5678)",
    response_only=True,
    value={
        "id": 42, "reference": "KM-2026-000042", "platform": 1, "merchant_name": "星辰点卡店",
        "order_number": "DD20261101123456", "product_type": "game_card", "face_value": "100.00",
        "amount_paid": "98.50", "payment_channel": "alipay", "purchased_at": "2026-11-01T10:15:00+08:00",
        "delivered_at": "2026-11-01T10:16:00+08:00", "problem_found_at": "2026-11-01T10:30:00+08:00",
        "dispute_type": "invalid_code", "description": "卡密提示“已被使用”，商家不回复。",
        "merchant_promise": "卡密保证可用，无效包换", "fraud_suspected": False, "waiting_on_consumer": False,
        "consumer": {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X",
                     "payment_account": ""},
        "claims": [{"kind": "refund", "amount": "98.50", "unreasonable": False}],
        "status": "intake", "assignee": None, "outcome": "", "amount_recovered": None, "resolution": "",
        "consumer_rating": None, "closed_at": None, "version": 1,
        "created_at": "2026-11-02T09:00:00+08:00", "updated_at": "2026-11-02T09:00:00+08:00",
    },
)

TRANSITION = OpenApiExample(
    "Start negotiating with the merchant",
    request_only=True,
    value={"to": "negotiating", "note": "已联系商家，要求48小时内答复"},
)

RESOLVE = OpenApiExample(
    "Resolve with the outcome",
    request_only=True,
    value={"to": "resolved", "note": "商家全额退款",
           "outcome": {"outcome": "favourable", "amount_recovered": "98.50", "consumer_rating": 5}},
)

PLATFORM = OpenApiExample(
    "A platform",
    value={
        "name": "速购卡盟", "domains": ["sugou-kameng.example.cn"], "company_name": "某某网络科技有限公司",
        "credit_code": "91330100MA2H0XXX0X", "icp_number": "浙ICP备2026000000号", "has_deposit_scheme": True,
        "complaint_window_hours": 72, "complaint_window_from": "delivery", "response_working_days": 3,
        "cross_border": False,
    },
)
