"""Alert tiers on deadlines the product writes itself (a case filed and escalated through the API):
overdue at the due time, late after the rule's grace, very late after the rule's very-late figure; each
fires once and its e-mail says which it is."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from escalation import rules
from escalation.models import Deadline
from notifications import services
from notifications.models import Alert, Delivery
from tests.helpers import payload

H = timedelta(hours=1)


@pytest.fixture
def filed_and_escalated(user_client, platform, make_user):
    """A case filed by intake, assigned, and escalated to the merchant by a handler: every deadline is the
    services' own."""
    intake, handler = user_client("intake"), user_client("handler")
    created = intake.post("/api/v1/cases/", payload(platform), format="json").json()
    assignee = make_user("handler", email="handler@example.cn")
    from cases.models import Case
    from cases.services import case_assign

    case = Case.objects.get(pk=created["id"])
    case_assign(actor=make_user("supervisor"), case=case, assignee_id=assignee.pk, note="")
    response = handler.post(f"/api/v1/cases/{case.pk}/escalations/",
                            {"channel": "merchant", "submitted_at": timezone.now().isoformat()}, format="json")
    assert response.status_code == 201, response.content
    return case, Deadline.objects.get(case=case, kind="merchant_answer")


def _send_all():
    # The scans ran at future moments, so their deliveries are due then; the send happens now.
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    for pk in Delivery.objects.filter(status="pending", channel="email").values_list("pk", flat=True):
        services.delivery_attempt(delivery_id=pk)


def test_every_deadline_the_services_write_has_three_distinct_tiers(filed_and_escalated):
    case, _merchant = filed_and_escalated
    deadlines = list(Deadline.objects.filter(case=case))
    assert {d.kind for d in deadlines} >= {"evidence_preservation", "platform_window", "merchant_answer"}
    for deadline in deadlines:
        assert deadline.due_at < deadline.late_at < deadline.very_late_at, deadline.kind


def test_merchant_answer_tiers_follow_the_rules_table(filed_and_escalated):
    _case, deadline = filed_and_escalated
    rule = rules.DEADLINES["merchant_answer"]
    assert deadline.due_at - deadline.starts_at == timedelta(hours=rule.amount)
    assert deadline.late_at - deadline.due_at == timedelta(hours=rule.late)
    assert deadline.very_late_at - deadline.due_at == timedelta(hours=rule.very_late)


def test_overdue_fires_at_due_then_late_then_very_late_each_once_with_its_own_email(filed_and_escalated):
    _case, deadline = filed_and_escalated
    moments = [deadline.due_at - 23 * H, deadline.due_at - H, deadline.due_at + timedelta(minutes=1),
               deadline.due_at + 2 * H, deadline.late_at + timedelta(minutes=1), deadline.late_at + 3 * H,
               deadline.very_late_at + timedelta(minutes=1), deadline.very_late_at + 30 * H]
    seen = []
    for now in moments:
        services.deadline_alerts_scan(now=now)
        kinds = list(Alert.objects.filter(deadline=deadline).order_by("fires_at").values_list("kind", flat=True))
        seen.append(kinds[-1] if kinds else None)
    assert seen == ["due_soon_24h", "due_soon_2h", "overdue", "overdue", "late", "late", "very_late", "very_late"]
    assert Alert.objects.filter(deadline=deadline).count() == 5
    _send_all()
    uids = {str(uid): kind for uid, kind in Delivery.objects.filter(alert__deadline=deadline, channel="email")
            .values_list("uid", "alert__kind")}
    mine = {uids[m.extra_headers["X-Kameng-Delivery"]]: m for m in mail.outbox
            if m.extra_headers.get("X-Kameng-Delivery") in uids}
    assert sorted(mine) == sorted(["due_soon_24h", "due_soon_2h", "overdue", "late", "very_late"])
    assert "deadline overdue" in mine["overdue"].subject
    assert "deadline late" in mine["late"].subject
    assert "deadline very late" in mine["very_late"].subject
    assert all(m.to == ["handler@example.cn"] for m in mail.outbox)
