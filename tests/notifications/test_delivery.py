import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.codes import Status
from cases.services import case_transition
from escalation import rules
from escalation.calendar import LIBRARY_YEARS
from escalation.codes import DeadlineKind
from escalation.services import deadline_from_clock
from kameng_api.core.roles import Role
from notifications import services
from notifications.models import Delivery, WebhookEndpoint
from tests.factories import CaseFactory, UserFactory

from .conftest import body_json

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def test_signature_is_the_hex_hmac_sha256_of_the_body():
    body = b'{"event":"deadline.overdue"}'
    expected = hmac.new(b"whsec_test", body, hashlib.sha256).hexdigest()
    assert services.signature("whsec_test", body) == f"sha256={expected}"
    assert services.signature_valid("whsec_test", body, f"sha256={expected}")
    assert not services.signature_valid("whsec_other", body, f"sha256={expected}")
    assert not services.signature_valid("whsec_test", body + b" ", f"sha256={expected}")


def test_backoff_doubles_with_jitter_and_is_capped():
    assert services.backoff_seconds(1, base=30, cap=3600, rand=0.0) == 15
    assert services.backoff_seconds(1, base=30, cap=3600, rand=1.0) == 30
    assert services.backoff_seconds(3, base=30, cap=3600, rand=1.0) == 120
    assert services.backoff_seconds(20, base=30, cap=3600, rand=1.0) == 3600
    assert services.backoff_seconds(20, base=30, cap=3600, rand=0.0) == 1800
    spread = {round(services.backoff_seconds(4, base=30, cap=3600), 3) for _i in range(20)}
    assert len(spread) > 1 and all(120 <= s <= 240 for s in spread)


@pytest.mark.parametrize("url", [
    "ftp://example.cn/hook", "javascript:alert(1)", "file:///etc/passwd", "http://", "example.cn/hook",
    "http://user:pw@example.cn/", "http://exa mple.cn/", "http://example.cn:99999/",
])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValidationError):
        services.webhook_url_check(url, block_private=False)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/", "http://localhost/", "http://10.1.2.3/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/",
])
def test_private_addresses_are_refused_when_the_setting_is_on(url):
    with pytest.raises(ValidationError):
        services.webhook_url_check(url, block_private=True)
    assert services.webhook_url_check(url, block_private=False) == url


def test_a_public_address_is_accepted_with_the_setting_on():
    assert services.webhook_url_check("https://93.184.216.34/hooks", block_private=True)


def _hook(org, url, events=("deadline.overdue",), **kwargs):
    return WebhookEndpoint.objects.create(organization=org, url=url, events=list(events), secret="whsec_test",
                                          **kwargs)


def test_a_webhook_is_sent_signed_once_and_a_second_run_exits(make_deadline, org, receiver):
    r = receiver()
    _hook(org, r.url)
    deadline = make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="webhook")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "sent"
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(r.requests) == 1
    request = r.requests[0]
    assert request["headers"]["X-Kameng-Event"] == "deadline.overdue"
    assert request["headers"]["X-Kameng-Delivery"] == str(delivery.uid)
    assert services.signature_valid("whsec_test", request["body"], request["headers"]["X-Kameng-Signature"])
    document = body_json(request)
    assert document["id"] == str(delivery.uid)
    assert document["data"]["deadline"]["id"] == deadline.pk
    assert document["data"]["reference"] == deadline.case.reference
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)


def test_a_failed_attempt_is_retried_later_with_backoff(make_deadline, org, receiver):
    r = receiver(status=503)
    hook = _hook(org, r.url)
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="webhook")
    before = timezone.now()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.last_error == "HTTP 503"
    assert before + timedelta(seconds=14) < delivery.next_attempt_at < before + timedelta(seconds=31)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"  # not due yet
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    r.status = 200
    assert services.delivery_attempt(delivery_id=delivery.pk) == "sent"
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0
    assert len(r.requests) == 2 and r.requests[0]["body"] == r.requests[1]["body"]


def test_an_unreachable_receiver_is_a_failed_attempt(make_deadline, org):
    _hook(org, "http://127.0.0.1:9/closed")
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="webhook")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "Error" in delivery.last_error


def test_a_delivery_that_keeps_killing_its_worker_stops_after_the_limit(make_deadline, org, caplog):
    """Attempts are counted before sending; a row already at the limit is failed and logged, not sent."""
    _hook(org, "http://127.0.0.1:9/closed")
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="webhook")
    Delivery.objects.filter(pk=delivery.pk).update(attempts=8)
    with caplog.at_level(logging.ERROR, logger="notifications.services"):
        assert services.delivery_attempt(delivery_id=delivery.pk, max_attempts=8) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "gave up after 8 attempts" in delivery.last_error
    assert "failed after 8 attempts" in caplog.text


def test_endpoint_is_disabled_after_repeated_failures_and_supervisors_are_told(make_deadline, org, receiver,
                                                                             settings):
    settings.KAMENG_WEBHOOK_DISABLE_AFTER = 2
    UserFactory(organization=org, role=Role.SUPERVISOR, email="boss@example.cn")
    r = receiver(status=500)
    hook = _hook(org, r.url)
    make_deadline(due_in=-H)
    make_deadline(due_in=-H)
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    first, second, third = Delivery.objects.filter(channel="webhook").order_by("pk")
    assert services.delivery_attempt(delivery_id=first.pk) == "retry"
    assert services.delivery_attempt(delivery_id=second.pk) == "retry"
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_at and hook.consecutive_failures == 2
    third.refresh_from_db()
    assert third.status == "failed" and third.last_error == "endpoint disabled"
    notice = Delivery.objects.get(event_type="endpoint.disabled")
    assert notice.recipient == "boss@example.cn"
    mail.outbox.clear()
    assert services.delivery_attempt(delivery_id=notice.pk) == "sent"
    assert len(mail.outbox) == 1 and r.url in mail.outbox[0].body and "停用" in mail.outbox[0].body
    assert len(r.requests) == 2


def test_the_alert_email_is_in_chinese_and_english(org):
    assignee = UserFactory(organization=org, role=Role.HANDLER, email="handler@example.cn")
    case = CaseFactory(organization=org, assignee=assignee)
    # The platform's answer clock (working days) counted in a year whose holidays are not published yet:
    # the product marks it provisional (escalation/calendar.py) and the e-mail says so.
    starts = datetime(max(LIBRARY_YEARS) + 2, 3, 2, 10, tzinfo=timezone.get_default_timezone())
    clock = rules.clock_of_kind(DeadlineKind.PLATFORM_ANSWER, on=starts.date(), platform=case.platform)
    deadline = deadline_from_clock(case=case, clock=clock, starts_at=starts)
    deadline.save()
    assert deadline.provisional
    services.deadline_alerts_scan(now=deadline.due_at + H)
    delivery = Delivery.objects.get(channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # the scan ran in that year
    assert services.delivery_attempt(delivery_id=delivery.pk) == "sent"
    message = mail.outbox[-1]
    assert message.to == ["handler@example.cn"]
    assert case.reference in message.subject and "逾期" in message.subject and "overdue" in message.subject
    assert "passed at" in message.body and "已过" in message.body and "provisional" in message.body
    assert message.extra_headers["X-Kameng-Delivery"] == str(delivery.uid)


def test_the_sweep_re_enqueues_only_pending_due_and_old_enough(make_deadline, org):
    _hook(org, "http://127.0.0.1:9/a")
    make_deadline(due_in=-H)
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    old, recent = Delivery.objects.filter(channel="webhook").order_by("pk")
    Delivery.objects.filter(pk=old.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    assert services.deliveries_sweep(grace=timedelta(minutes=2)) == 1
    Delivery.objects.filter(pk=old.pk).update(status="sent")
    assert services.deliveries_sweep(grace=timedelta(minutes=2)) == 0
    assert services.deliveries_sweep(grace=timedelta(0)) == 1


def test_case_events_reach_subscribed_webhooks(org, partner_key):
    hook = _hook(org, "http://127.0.0.1:9/a", events=["case.status_changed"])
    _hook(org, "http://127.0.0.1:9/b", events=["case.evidence_added"])
    partner_hook = _hook(org, "http://127.0.0.1:9/c", events=["case.status_changed"], created_by_key=partner_key[0])
    handler = UserFactory(organization=org, role=Role.HANDLER)
    case = CaseFactory(organization=org)
    case_transition(actor=handler, case=case, to=Status.NEGOTIATING, note="联系商家")
    delivery = Delivery.objects.get()
    assert delivery.endpoint == hook and delivery.event_type == "case.status_changed"
    assert delivery.payload["event"]["to_status"] == "negotiating"
    assert "note" not in json.dumps(delivery.payload)
    partner_case = CaseFactory(organization=org, filed_by_key=partner_key[0])
    case_transition(actor=handler, case=partner_case, to=Status.NEGOTIATING)
    assert sorted(Delivery.objects.filter(case_event__case=partner_case).values_list("endpoint_id", flat=True)) == \
        sorted([hook.pk, partner_hook.pk])
