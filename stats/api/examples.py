from drf_spectacular.utils import OpenApiExample

_RATE = {"value": 0.72, "numerator": 36, "denominator": 50, "withheld_reason": None}
_WITHHELD = {"value": None, "numerator": 2, "denominator": 4,
             "withheld_reason": "Withheld: 4 cases, fewer than the minimum sample of 10."}
FIGURES = {
    "complaints": 57,
    "by_status": {"intake": 3, "collecting_evidence": 2, "negotiating": 1, "platform_review": 1, "third_party": 0,
                  "legal": 0, "resolved": 36, "rejected": 9, "withdrawn": 5},
    "by_dispute_type": {"invalid_code": 40, "platform_absconded": 17},
    "closed": 50,
    "outcomes": {"favourable": 30, "partial": 6, "unfavourable": 0},
    "resolution_rate": _RATE,
    "favourable_rate": {"value": 0.6, "numerator": 30, "denominator": 50, "withheld_reason": None},
    "platform_response_rate": _WITHHELD,
    "platform_response_in_window_rate": {**_WITHHELD, "numerator": 1},
    "platform_response_minutes": {"median": None, "p90": None, "count": 2,
                                  "withheld_reason": "Withheld: 2 cases, fewer than the minimum sample of 10."},
    "resolution_minutes": {"median": 8640.0, "p90": 20160.0, "count": 36, "withheld_reason": None},
    "amount_disputed": "5700.00",
    "amount_recovered": "3120.50",
    "escalation_levels": {"1": 20, "2": 4, "3": 2, "4": 0},
    "highest_escalation_level": 3,
    "consumer_rating": {"average": 4.1, "count": 30, "withheld_reason": None},
}
PLATFORM_STATS = OpenApiExample(
    "A page of platforms",
    value={"count": 1, "next": None, "previous": None, "period": {"from": "2025-01-01", "to": "2025-12-31"},
           "scope": "organization", "min_sample": 10,
           "results": [{"platform": {"id": 3, "name": "星辰卡盟"}, **FIGURES,
                        "top_merchants": [{"id": 8, "name": "星辰点卡店", "complaints": 12}]}]},
    response_only=True,
)
TREND = OpenApiExample(
    "Monthly trend",
    value={"platform": {"id": 3, "name": "星辰卡盟"}, "interval": "month",
           "period": {"from": "2025-01-01", "to": "2025-01-31"}, "scope": "organization",
           "results": [{"start": "2025-01-01", "end": "2025-01-31", **FIGURES}]},
    response_only=True,
)
INCIDENT = {
    "id": 1, "platform": {"id": 3, "name": "星辰卡盟"}, "day": "2026-03-02",
    "detected_at": "2026-03-02T10:00:00+08:00", "window_start": "2026-03-01T10:00:00+08:00",
    "window_end": "2026-03-02T10:00:00+08:00", "count": 48, "baseline_mean": 1.2, "baseline_stddev": 0.9,
    "threshold": 10.0, "title": "群体投诉：星辰卡盟（2026-03-02）",
    "group": {"cases": 1, "victims": 1, "amount_disputed": "300.00", "amount_recovered": "0.00"},
    "cases": [{"id": 42, "reference": "KM-2026-000042", "status": "intake", "amount_paid": "300.00"}],
}
