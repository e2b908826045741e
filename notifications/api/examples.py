"""OpenAPI examples a partner developer can paste."""

from drf_spectacular.utils import OpenApiExample

ALERT = OpenApiExample(
    "An overdue merchant answer",
    response_only=True,
    value={
        "id": 7, "kind": "overdue", "case": 42, "reference": "KM-2026-000042",
        "deadline": {"id": 3, "kind": "merchant_answer", "due_at": "2026-11-03T10:30:00+08:00",
                     "late_at": "2026-11-04T10:30:00+08:00", "very_late_at": "2026-11-06T10:30:00+08:00",
                     "provisional": False, "status": "open"},
        "due_at": "2026-11-03T10:30:00+08:00", "fires_at": "2026-11-03T10:30:00+08:00",
        "acknowledged": False, "acknowledged_at": None, "acknowledged_by": "",
        "created_at": "2026-11-03T10:31:00+08:00",
    },
)

WEBHOOK_CREATE = OpenApiExample(
    "Subscribe to overdue deadlines and status changes",
    request_only=True,
    value={"url": "https://partner.example.cn/kameng/hooks", "events": ["deadline.overdue", "case.status_changed"],
           "description": "工单系统"},
)

WEBHOOK_CREATED = OpenApiExample(
    "Created (the secret is shown this once)",
    response_only=True,
    status_codes=["201"],
    value={"id": 5, "url": "https://partner.example.cn/kameng/hooks",
           "events": ["case.status_changed", "deadline.overdue"], "description": "工单系统", "is_active": True,
           "consecutive_failures": 0, "disabled_at": None, "disabled_reason": "",
           "created_at": "2026-11-02T09:00:00+08:00", "updated_at": "2026-11-02T09:00:00+08:00",
           "secret": "whsec_3q2-7pX0bKJm4pQn1VxQyZ0aWc8s5D1uYfL9rT6eH2o"},
)

WEBHOOK = OpenApiExample(
    "An endpoint",
    response_only=True,
    status_codes=["200"],
    value={"id": 5, "url": "https://partner.example.cn/kameng/hooks",
           "events": ["case.status_changed", "deadline.overdue"], "description": "工单系统", "is_active": True,
           "consecutive_failures": 0, "disabled_at": None, "disabled_reason": "",
           "created_at": "2026-11-02T09:00:00+08:00", "updated_at": "2026-11-02T09:00:00+08:00"},
)

WEBHOOK_REENABLE = OpenApiExample("Re-enable a disabled endpoint", request_only=True, value={"is_active": True})

DELIVERY = OpenApiExample(
    "A delivery that was retried once",
    response_only=True,
    value={"id": "0b7c5d1e-7f0a-4a43-9d55-2f4a7c1e9b10", "event": "deadline.overdue", "status": "sent",
           "attempts": 2, "last_status_code": 200, "last_error": "",
           "next_attempt_at": "2026-11-03T10:31:40+08:00", "sent_at": "2026-11-03T10:31:41+08:00",
           "created_at": "2026-11-03T10:31:00+08:00"},
)
