"""A no-response closes the escalation without an answer time (its clocks cancelled, not met)."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from cases.models import CaseEvent
from escalation.models import Deadline, Escalation
from tests.helpers import assert_error

from .test_escalations_api import escalate

pytestmark = pytest.mark.django_db


def test_no_response_closes_the_escalation_without_an_answer_time(handler, case):
    esc = escalate(handler, case, "merchant", 120).json()
    response = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "no_response",
                                                                     "response": "48小时内商家未回复"}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "no_response" and body["responded_at"] is None
    assert body["response"] == "48小时内商家未回复"
    deadline = Deadline.objects.get(escalation_id=esc["id"])
    assert deadline.status == "cancelled" and deadline.met_at is None
    event = CaseEvent.objects.get(case=case, kind="escalation_answered")
    assert event.data["outcome"] == "no_response"
    assert_error(handler.patch(f"/api/v1/escalations/{esc['id']}/", {"response": "迟到的回复"}, format="json", HTTP_IF_MATCH="*"),
                 409, code="escalation_closed")


def test_no_response_clears_an_earlier_interim_answer_time(handler, case):
    for channel, minutes in (("merchant", 300), ("platform", 200)):
        escalate(handler, case, channel, minutes)
    esc = escalate(handler, case, "12315", 100).json()
    accepted = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "accepted"}, format="json", HTTP_IF_MATCH="*").json()
    assert accepted["responded_at"]
    body = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "no_response"}, format="json", HTTP_IF_MATCH="*").json()
    assert body["outcome"] == "no_response" and body["responded_at"] is None
    assert not Deadline.objects.filter(escalation_id=esc["id"], status="open").exists()


def test_no_response_with_an_answer_time_is_a_400_and_changes_nothing(handler, case):
    esc = escalate(handler, case, "merchant", 120).json()
    when = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "no_response", "responded_at": when},
                             format="json", HTTP_IF_MATCH="*")
    assert_error(response, 400, attr="responded_at")
    row = Escalation.objects.get(pk=esc["id"])
    assert row.outcome == "pending" and row.responded_at is None
    assert Deadline.objects.get(escalation_id=esc["id"]).status == "open"
    assert not CaseEvent.objects.filter(case=case, kind="escalation_answered").exists()


def test_the_data_migration_clears_answer_times_of_existing_no_responses(handler, case):
    first = escalate(handler, case, "merchant", 300).json()
    second = escalate(handler, case, "platform", 200).json()
    recorded = timezone.now() - timedelta(minutes=100)
    Escalation.objects.filter(pk=first["id"]).update(outcome="no_response", responded_at=recorded)  # old behaviour
    Escalation.objects.filter(pk=second["id"]).update(outcome="resolved", responded_at=recorded)
    before = Escalation.objects.get(pk=first["id"]).updated_at
    migration = importlib.import_module("escalation.migrations.0004_no_response_has_no_answer_time")
    migration.clear_answer_time(django_apps, None)
    cleared = Escalation.objects.get(pk=first["id"])
    assert cleared.responded_at is None and cleared.updated_at > before  # the statistics refresh sees it
    assert Escalation.objects.get(pk=second["id"]).responded_at == recorded
