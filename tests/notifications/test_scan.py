from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.codes import Status
from escalation.codes import DeadlineStatus
from escalation.models import Deadline
from escalation.services import (
    deadline_extend,
    deadline_meet,
    deadline_suspend,
    deadlines_cancel_for_closed_case,
)
from kameng_api.core.roles import Role
from notifications import services
from notifications.models import Alert, Delivery, WebhookEndpoint
from notifications.services import scan
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def kinds():
    return sorted(Alert.objects.values_list("kind", flat=True))


def test_no_alert_before_the_first_lead_time(make_deadline):
    make_deadline(due_in=30 * H)
    assert services.deadline_alerts_scan()["alerts"] == 0
    assert not Alert.objects.exists()


def test_running_the_scan_twice_creates_one_alert_and_one_delivery(make_deadline, org):
    assignee = UserFactory(organization=org, role=Role.HANDLER, email="handler@example.cn")
    make_deadline(due_in=20 * H, case=CaseFactory(organization=org, assignee=assignee))
    first = services.deadline_alerts_scan()
    second = services.deadline_alerts_scan()
    assert (first["alerts"], first["deliveries"]) == (1, 1)
    assert (second["alerts"], second["deliveries"]) == (0, 0)
    assert kinds() == ["due_soon_24h"]
    assert list(Delivery.objects.values_list("recipient", flat=True)) == ["handler@example.cn"]


def test_a_second_scan_racing_the_first_adds_nothing(make_deadline):
    """Two beat processes: both computed the same candidates; the unique constraint keeps one alert."""
    make_deadline(due_in=-H)
    now = timezone.now()
    rows = services.deadline_candidates(now=now, lead_hours=[24, 2])
    services.deadline_alerts_scan(now=now)
    assert scan._scan_batch(rows, now) == (0, 0)
    assert Alert.objects.count() == 1


@pytest.mark.parametrize(("due_in", "expected"), [
    (20 * H, "due_soon_24h"),
    (1 * H, "due_soon_2h"),
    (-1 * H, "overdue"),  # the merchant's 48 h passed
    (-23 * H, "overdue"),
    (-25 * H, "late"),  # 24 h of grace passed too
    (-49 * H, "very_late"),  # 48 h after the due time: escalate now
])
def test_the_current_tier_is_alerted(make_deadline, due_in, expected):
    make_deadline(due_in=due_in)
    services.deadline_alerts_scan()
    assert kinds() == [expected]


def test_tiers_follow_one_another_as_time_passes(make_deadline):
    now = timezone.now()
    make_deadline(due_in=20 * H, now=now)
    for hours in (0, 1, 19, 19.5, 21, 43, 45, 67, 69, 200):
        services.deadline_alerts_scan(now=now + timedelta(hours=hours))
    assert kinds() == sorted(["due_soon_24h", "due_soon_2h", "overdue", "late", "very_late"])


def test_suspended_met_and_closed_are_skipped(make_deadline, org):
    supervisor = UserFactory(organization=org, role=Role.SUPERVISOR)
    deadline_suspend(actor=supervisor, deadline=make_deadline(due_in=-H), note="等待消费者补充材料")
    met = make_deadline(due_in=-H)
    deadline_meet(case=met.case, kind=met.kind, at=timezone.now())
    cancelled = make_deadline(due_in=-H)
    deadlines_cancel_for_closed_case(case=cancelled.case)
    # An open clock of a closed case (closing cancels its clocks; the scan does not trust that alone).
    make_deadline(due_in=-H, case=CaseFactory(organization=org, status=Status.RESOLVED))
    assert set(Deadline.objects.values_list("status", flat=True)) == {
        DeadlineStatus.OPEN, DeadlineStatus.MET, DeadlineStatus.CANCELLED}
    assert services.deadline_alerts_scan()["alerts"] == 0


def test_an_extended_deadline_is_alerted_again_for_its_new_date(make_deadline):
    deadline = make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    deadline_extend(actor=UserFactory(role=Role.SUPERVISOR, organization=deadline.case.organization),
                    deadline=deadline, extend_by=21, reason="商家申请延期")
    services.deadline_alerts_scan()
    assert kinds() == ["due_soon_24h", "overdue"]


def test_unassigned_case_emails_the_supervisors_of_its_organization(make_deadline, org, other_org):
    UserFactory(organization=org, role=Role.SUPERVISOR, email="boss1@example.cn")
    UserFactory(organization=org, role=Role.SUPERVISOR, email="boss2@example.cn")
    UserFactory(organization=org, role=Role.SUPERVISOR, email="gone@example.cn", is_active=False)
    UserFactory(organization=other_org, role=Role.SUPERVISOR, email="other@example.cn")
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    assert sorted(Delivery.objects.values_list("recipient", flat=True)) == ["boss1@example.cn", "boss2@example.cn"]


def test_subscribed_webhooks_get_a_delivery_and_partner_endpoints_only_partner_cases(make_deadline, org,
                                                                                      partner_key):
    supervisor_hook = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:1/a",
                                                     events=["deadline.overdue"], secret="s")
    partner_hook = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:1/b",
                                                  events=["deadline.overdue"], secret="s",
                                                  created_by_key=partner_key[0])
    WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:1/c", events=["case.created"], secret="s")
    make_deadline(due_in=-H)
    make_deadline(due_in=-H, case=CaseFactory(organization=org, filed_by_key=partner_key[0]))
    services.deadline_alerts_scan()
    hooks = sorted(Delivery.objects.filter(channel="webhook").values_list("endpoint_id", flat=True))
    assert hooks == sorted([supervisor_hook.pk, supervisor_hook.pk, partner_hook.pk])
    assert Delivery.objects.filter(endpoint__isnull=False).first().event_type == "deadline.overdue"


def _scan_queries(count, org, make_deadline, batch_size):
    Deadline.objects.all().delete()
    for _i in range(count):
        make_deadline(due_in=-H)
    with CaptureQueriesContext(connection) as ctx:
        totals = services.deadline_alerts_scan(batch_size=batch_size)
    return totals, len(ctx.captured_queries)


def test_scan_queries_are_a_constant_number_per_batch(make_deadline, org):
    UserFactory(organization=org, role=Role.SUPERVISOR, email="boss@example.cn")
    WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:1/a", events=["deadline.overdue"],
                                   secret="s")
    small, small_queries = _scan_queries(10, org, make_deadline, batch_size=10)
    large, large_queries = _scan_queries(40, org, make_deadline, batch_size=10)
    assert small["batches"] == 1 and large["batches"] == 4
    assert large["deliveries"] == 2 * 40
    # A batch costs the same whatever the number of deadlines; the last (empty) read is counted once.
    per_batch, remainder = divmod(large_queries - small_queries, 3)
    assert remainder == 0 and 0 < per_batch <= 8, (small_queries, large_queries)
