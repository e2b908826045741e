"""End to end through real worker processes: on Redis and PostgreSQL when REDIS_URL / DATABASE_URL are set,
else on the embedded default (kombu's filesystem broker, SQLite in WAL mode)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kameng_api.core.roles import Role
from notifications import services, tasks
from notifications.models import Delivery, WebhookEndpoint
from tests.factories import CaseFactory, UserFactory
from tests.helpers import wait_for

from .conftest import body_json

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _mail_files(directory):
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(directory.glob("*.log"))]


def test_a_passed_deadline_arrives_by_email_in_the_api_and_at_the_webhook(workers, make_deadline, org, receiver):
    worker = workers.start()
    r = receiver()
    assignee = UserFactory(organization=org, role=Role.HANDLER, email="handler@example.cn")
    case = CaseFactory(organization=org, assignee=assignee)
    deadline = make_deadline(due_in=-timedelta(minutes=5), case=case)
    hook = WebhookEndpoint.objects.create(organization=org, url=r.url, events=["deadline.overdue"],
                                          secret="whsec_e2e")
    tasks.deadlines_scan.delay()  # what beat does every minute

    wait_for(lambda: r.accepted, 60, "the webhook")
    request = r.requests[0]
    assert services.signature_valid("whsec_e2e", request["body"], request["headers"]["X-Kameng-Signature"])
    assert request["headers"]["X-Kameng-Event"] == "deadline.overdue"
    assert body_json(request)["data"]["deadline"]["id"] == deadline.pk

    mails = wait_for(lambda: _mail_files(workers.email_dir), 60, "the email")
    assert len(mails) == 1
    assert "To: handler@example.cn" in mails[0] and case.reference in mails[0]

    client = APIClient()
    client.force_authenticate(assignee)
    alerts = client.get("/api/v1/alerts/").json()
    assert alerts["count"] == 1 and alerts["results"][0]["kind"] == "overdue"
    assert alerts["results"][0]["case"] == case.pk
    wait_for(lambda: Delivery.objects.filter(status="sent").count() == 2, 30, "both deliveries marked sent")
    assert Delivery.objects.get(endpoint=hook).attempts == 1
    assert worker.poll() is None


def test_a_worker_killed_mid_delivery_still_delivers_once(workers, make_deadline, org, receiver):
    first = workers.start()
    r = receiver(block_first=True)
    WebhookEndpoint.objects.create(organization=org, url=r.url, events=["deadline.overdue"], secret="whsec_e2e")
    make_deadline(due_in=-timedelta(minutes=5))  # no email recipient: only the webhook delivery
    services.deadline_alerts_scan()  # enqueued on commit
    delivery = Delivery.objects.get()

    assert r.first_arrived.wait(60), first.log_path.read_text()
    workers.kill(first)  # SIGKILL, parent and pool child, while the request is in flight
    r.release.set()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # counted before sending, never marked

    second = workers.start()
    assert services.deliveries_sweep(now=timezone.now(), grace=timedelta(0)) == 1  # what beat's sweep does
    wait_for(lambda: r.accepted, 60, "the redelivery")
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == "sent", 30, "the row marked sent")

    # Run everything again: the row is sent, so nothing more leaves.
    tasks.delivery_send.delay(delivery.pk)
    services.deliveries_sweep(grace=timedelta(0))
    services.deadline_alerts_scan()
    tasks.deadlines_scan.delay()
    wait_for(lambda: "notifications.deadlines_scan" in second.log_path.read_text()
             and second.log_path.read_text().count("succeeded") >= 3, 30, "the extra tasks to run")

    assert r.accepted == [str(delivery.uid)] and r.duplicates == 0
    assert len(r.requests) == 2  # the one cut off by the kill, the one accepted
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 2, 200)
    assert Delivery.objects.count() == 1


def test_two_busy_workers_send_each_email_exactly_once(workers, make_deadline, org):
    """The duplicate e-mails of the embedded default came from "database is locked" rolling back the sent
    mark after the message had left; with WAL, a busy timeout and immediate transactions (SQLite) or row
    locks (PostgreSQL), two workers and repeated sweeps still send each delivery once."""
    workers.start(concurrency=2)
    workers.start(concurrency=2)
    for i in range(30):
        assignee = UserFactory(organization=org, role=Role.HANDLER, email=f"handler{i}@example.cn")
        make_deadline(due_in=-timedelta(minutes=5), case=CaseFactory(organization=org, assignee=assignee))
    tasks.deadlines_scan.delay()
    wait_for(lambda: Delivery.objects.count() == 30, 60, "the scan")
    for _ in range(3):  # what beat's sweep does while the sends are under way
        tasks.deliveries_sweep.delay()
        services.deliveries_sweep(grace=timedelta(0))
    wait_for(lambda: Delivery.objects.filter(status="sent").count() == 30, 120, "every delivery marked sent")
    headers = [line for text in _mail_files(workers.email_dir) for line in text.splitlines()
               if line.startswith("X-Kameng-Delivery:")]
    assert len(headers) == 30 and len(set(headers)) == 30
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
