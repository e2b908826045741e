"""OpenAPI examples for the escalation endpoints."""

from drf_spectacular.utils import OpenApiExample

ESCALATE = OpenApiExample("Escalate to 12315", request_only=True, value={
    "channel": "12315", "submitted_at": "2026-11-20T09:30:00+08:00", "external_reference": "1532026112000123",
    "skip_reason": "", "skip_note": "",
})
ESCALATE_SKIP = OpenApiExample("Skip to the payment dispute (platform absconded)", request_only=True, value={
    "channel": "payment_dispute", "submitted_at": "2026-11-20T09:30:00+08:00", "external_reference": "",
    "skip_reason": "platform_absconded", "skip_note": "",
})
ESCALATION = OpenApiExample("An escalation", response_only=True, value={
    "id": 7, "case": 42, "channel": "12315", "level": 3, "submitted_at": "2026-11-20T09:30:00+08:00",
    "external_reference": "1532026112000123", "skip_reason": "", "skip_note": "",
    "due_at": "2026-12-01T23:59:59+08:00", "provisional": False, "response": "", "responded_at": None,
    "outcome": "pending", "approved_by": None, "created_by": "li.handler",
    "created_at": "2026-11-20T09:31:02+08:00", "updated_at": "2026-11-20T09:31:02+08:00",
})
ANSWER = OpenApiExample("12315 accepted the complaint", request_only=True, value={
    "response": "已受理,转属地市场监管所调解", "responded_at": "2026-11-24T14:00:00+08:00", "outcome": "accepted",
})
RECOMMENDATION = OpenApiExample("Platform absconded", response_only=True, value={
    "channel": "payment_dispute", "level": 3,
    "reasons": ["平台已跑路:通过支付宝、微信等支付渠道申请“交易争议处理”…… (seed 000)"],
    "due_at": "2026-11-27T23:59:59+08:00", "provisional": False, "skip_reason": "platform_absconded",
    "also": [{"channel": "police", "level": 4, "reason": "平台跑路导致多人受损时,可向公安机关报案 (seed 000, seed 004)"}],
    "rules": ["platform_absconded"],
})
DEADLINE = OpenApiExample("A deadline", response_only=True, value={
    "id": 3, "case": 42, "case_reference": "KM-2026-000042", "escalation": 7, "kind": "12315_acceptance",
    "starts_at": "2026-11-20T09:30:00+08:00", "due_at": "2026-12-01T23:59:59+08:00",
    "late_at": "2026-12-01T23:59:59+08:00", "very_late_at": "2026-12-10T23:59:59+08:00", "working_days": 7,
    "hours": None, "provisional": False, "status": "open", "suspended": False, "suspended_at": None,
    "overdue": False, "extension_reason": "", "met_at": None, "created_at": "2026-11-20T09:31:02+08:00",
    "updated_at": "2026-11-20T09:31:02+08:00",
})
EXTEND = OpenApiExample("Extend by 5 working days", request_only=True,
                        value={"extend_by": 5, "reason": "12315 工作人员电话告知需补充材料"})
CALENDAR_YEAR = OpenApiExample("Enter 2027 (part)", request_only=True, value={"year": 2027, "days": [
    {"date": "2027-01-01", "is_working_day": False, "name": "元旦"},
    {"date": "2027-02-06", "is_working_day": True, "name": "春节调休"},
]})
