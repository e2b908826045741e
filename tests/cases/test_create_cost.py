"""A create answers with the case as written, without reading it back, in a bounded number of statements."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, Consumer

from .test_cases_api import URL, payload

pytestmark = pytest.mark.django_db


def test_create_answers_what_a_read_of_the_case_shows(intake, platform):
    response = intake.post(URL, payload(platform, face_value="12.5", amount_paid="98.5", claims=[
        {"kind": "refund", "amount": "98.5"}, {"kind": "compensation", "amount": "10"}]), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    read = intake.get(f"{URL}{created['id']}/")
    assert created == read.json()
    assert response["ETag"] == read["ETag"]
    assert created["claims"] == [{"kind": "refund", "amount": "98.50", "unreasonable": False},
                                 {"kind": "compensation", "amount": "10.00", "unreasonable": False}]
    assert created["merchant_name"] == "星辰点卡店" and created["reference"].startswith("KM-")


def test_create_statements(intake, platform):
    intake.post(URL, payload(platform, order_number="WARM-1"), format="json")
    with CaptureQueriesContext(connection) as captured:
        response = intake.post(URL, payload(platform, order_number="COUNTED-1"), format="json")
    assert response.status_code == 201, response.content
    statements = [q["sql"] or "" for q in captured.captured_queries
                  if not (q["sql"] or "").startswith(("SAVEPOINT", "RELEASE"))]
    # platform, consumer, reference, merchant, case, claims, event, webhooks, calendar (2), rules, deadline,
    # the organization's kind (does it run an acceptance procedure?), audit
    assert len(statements) <= 14, statements
    assert not any(s.startswith('SELECT "cases_case"') for s in statements)  # no duplicate pre-check, no re-read


def test_a_duplicate_is_still_a_409_and_writes_nothing(intake, platform):
    first = intake.post(URL, payload(platform), format="json").json()
    consumers, cases = Consumer.objects.count(), Case.objects.count()
    response = intake.post(URL, payload(platform), format="json")
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["code"] == "duplicate_case"
    assert first["reference"] in response.json()["errors"][0]["detail"]
    assert (Consumer.objects.count(), Case.objects.count()) == (consumers, cases)
    after = intake.post(URL, payload(platform, order_number="NEXT-1"), format="json").json()
    assert int(after["reference"][-6:]) == int(first["reference"][-6:]) + 1  # the refused one used no number
