"""OpenAPI examples for the evidence endpoints."""

from drf_spectacular.utils import OpenApiExample

UPLOAD = OpenApiExample(
    "Upload an error screenshot (multipart/form-data)",
    request_only=True,
    value={"file": "(binary: 激活失败.png)", "kind": "error_screenshot",
           "occurred_at": "2026-11-01T10:30:00+08:00", "description": "激活时提示“卡密已被使用”"},
)
SUPERSEDE = OpenApiExample(
    "Replace an earlier item",
    request_only=True,
    value={"file": "(binary)", "kind": "chat_log", "occurred_at": "2026-11-01T11:00:00+08:00",
           "supersedes": 12, "reason": "之前的截图不完整，缺少商家承诺那一段"},
)
EVIDENCE = OpenApiExample(
    "An evidence item",
    response_only=True,
    value={
        "id": 13, "case": 42, "sequence": 3, "kind": "error_screenshot", "stage": "problem",
        "original_name": "激活失败.png",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 183422,
        "content_type": "image/png", "occurred_at": "2026-11-01T10:30:00+08:00",
        "captured_at": "2026-11-02T09:12:44+08:00", "uploaded_by": "user:zhang.intake",
        "description": "激活时提示“卡密已被使用”", "status": "active", "withdraw_reason": "", "withdrawn_at": None,
        "supersedes": None, "superseded_by": None,
        "prev_hash": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "entry_hash": "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
        "download_url": "/api/v1/evidence/13/download/",
    },
)
WITHDRAW = OpenApiExample("Withdraw", request_only=True, value={"reason": "上传错了订单的截图"})
COMPLETENESS = OpenApiExample(
    "Two of five still missing",
    response_only=True,
    value={"score": 60, "complete": False, "missing": [
        {"stage": "delivery", "kind": "delivery_record", "kinds": ["delivery_record"],
         "message": "缺少交付记录：商家发来的卡密、账号或激活码的截图，需带发货时间。"},
        {"stage": "negotiation", "kind": "chat_log", "kinds": ["chat_log", "platform_reply"],
         "message": "缺少沟通记录：与商家或客服的完整聊天记录（问题描述→商家回应→协商过程），尤其是商家的承诺。"},
    ]},
)
TIMELINE = OpenApiExample(
    "Found 3 days after delivery, outside a 24 h window",
    response_only=True,
    value={"case": 42, "reference": "KM-2026-000042", "events": [
        {"occurred_at": "2026-11-01T10:15:00+08:00", "type": "fact", "code": "purchased", "label": "下单付款",
         "stage": "transaction", "evidence": None, "detail": {}},
        {"occurred_at": "2026-11-01T10:16:00+08:00", "type": "fact", "code": "delivered", "label": "商家交付",
         "stage": "delivery", "evidence": None, "detail": {}},
        {"occurred_at": "2026-11-04T10:30:00+08:00", "type": "fact", "code": "problem_found", "label": "发现问题",
         "stage": "problem", "evidence": None, "detail": {}},
    ], "gaps": [
        {"code": "outside_platform_window", "from": "2026-11-01T10:16:00+08:00", "to": "2026-11-04T10:30:00+08:00",
         "hours": 72.2, "limit_hours": 24,
         "message": "问题在交付后 72.2 小时才发现/反馈，超出该平台 24 小时的投诉时限；需说明未及时反馈的合理理由。",
         "source": "seed 001"},
    ]},
)
VERIFY_BROKEN = OpenApiExample(
    "A file altered behind the service's back",
    response_only=True,
    value={"intact": False, "checked": 4, "first_bad": 13, "first_bad_sequence": 3,
           "head": "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
           "problems": [{"sequence": 3, "evidence": 13,
                         "problem": "the stored file's SHA-256 differs from the recorded one (the file was altered)"}],
           "files": {"status": "checked", "checked_at": "2026-03-02T03:17:00+08:00", "intact": False,
                     "files_checked": 4, "up_to_sequence": 4, "covers_all": True,
                     "problems": [{"sequence": 3, "evidence": 13, "problem": "the stored file's SHA-256 differs "
                                                                             "from the recorded one (the file "
                                                                             "was altered)"}],
                     "pending": None}},
)
