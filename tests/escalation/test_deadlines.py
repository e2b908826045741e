from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from escalation import services
from escalation.calendar import LIBRARY_YEARS
from escalation.models import CalendarDay, Deadline
from tests.helpers import assert_error

from .conftest import SH, at

pytestmark = pytest.mark.django_db
URL = "/api/v1/deadlines/"


def end(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=SH)


def acceptance_deadline(case, start):
    deadline = services.deadline_build(case=case, kind="12315_acceptance", starts_at=start, unit="working_days",
                                       amount=7, very_late=7)
    deadline.save()
    return deadline


def test_suspension_across_spring_festival_gives_back_the_working_days_that_remained(case, make_user):
    deadline = acceptance_deadline(case, at(2026, 2, 9))
    assert deadline.due_at == end(2026, 2, 25)
    Deadline.objects.filter(pk=deadline.pk).update(suspended_at=at(2026, 2, 12, 16))  # 13, 14, 24, 25 remain
    deadline = services.deadline_resume(actor=make_user(), deadline=deadline, at=at(2026, 3, 2, 9))
    assert deadline.suspended_at is None
    assert deadline.due_at == end(2026, 3, 6)  # 3, 4, 5, 6 March
    assert deadline.late_at == end(2026, 3, 11)  # 3 more working days (rules: late tier of 12315 acceptance)
    assert deadline.very_late_at == end(2026, 3, 17)  # 7 more working days


def test_resuming_during_the_holiday_counts_from_the_next_working_day(case, make_user):
    deadline = acceptance_deadline(case, at(2026, 2, 9))
    Deadline.objects.filter(pk=deadline.pk).update(suspended_at=at(2026, 2, 13, 11))  # 14, 24, 25 remain
    deadline = services.deadline_resume(actor=make_user(), deadline=deadline, at=at(2026, 2, 20, 11))
    assert deadline.due_at == end(2026, 2, 26)  # 24, 25, 26


def test_suspension_over_national_day(case, make_user):
    deadline = acceptance_deadline(case, at(2026, 9, 18))  # due Tue 29 September
    assert deadline.due_at == end(2026, 9, 29)
    Deadline.objects.filter(pk=deadline.pk).update(suspended_at=at(2026, 9, 24, 15))  # 28, 29 remain
    deadline = services.deadline_resume(actor=make_user(), deadline=deadline, at=at(2026, 9, 30, 9))
    assert deadline.due_at == end(2026, 10, 9)  # [1-7 off], 8, 9


def test_hour_deadline_resume_adds_back_the_wall_clock_time(case, make_user):
    deadline = services.deadline_build(case=case, kind="merchant_answer", starts_at=at(2026, 2, 14, 10),
                                       unit="hours", amount=48, very_late=48)
    deadline.save()
    Deadline.objects.filter(pk=deadline.pk).update(suspended_at=at(2026, 2, 15, 10))  # 24 h remain
    deadline = services.deadline_resume(actor=make_user(), deadline=deadline, at=at(2026, 2, 20, 10))
    assert deadline.due_at == at(2026, 2, 21, 10)


def test_entering_the_next_years_schedule_recounts_provisional_deadlines(case, supervisor):
    if 2027 in LIBRARY_YEARS:
        pytest.skip("the library now ships 2027")
    deadline = acceptance_deadline(case, at(2026, 12, 28))
    assert deadline.provisional is True and deadline.due_at == end(2027, 1, 7)  # 元旦 counted as a holiday
    status = supervisor.get("/api/v1/calendar/status/").json()
    assert status["provisional_open_deadlines"] >= 1
    response = supervisor.post("/api/v1/calendar/", {"year": 2027, "days": [
        {"date": "2027-01-01", "is_working_day": False, "name": "元旦"},
        {"date": "2027-01-04", "is_working_day": False, "name": "hypothetical bridge day"},
    ]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["recomputed_deadlines"] >= 1
    deadline.refresh_from_db()
    assert deadline.provisional is False
    assert deadline.due_at == end(2027, 1, 8)  # 29, 30, 31, [1 off], [4 off], 5, 6, 7, 8
    assert CalendarDay.objects.filter(date__year=2027).count() == 2


def test_calendar_api_roles_and_bad_input(handler, supervisor, analyst, anon):
    body = {"year": 2027, "days": [{"date": "2027-01-01", "is_working_day": False}]}
    assert_error(handler.post("/api/v1/calendar/", body, format="json"), 403)
    assert_error(anon.post("/api/v1/calendar/", body, format="json"), 401)
    assert_error(analyst.get("/api/v1/calendar/status/"), 403)
    assert handler.get("/api/v1/calendar/status/").status_code == 200
    assert handler.get("/api/v1/calendar/?year=2026").status_code == 200
    assert_error(handler.get("/api/v1/calendar/?year=abc"), 400, attr="year")
    assert_error(handler.get("/api/v1/calendar/?year=-441"), 400, attr="year")
    assert_error(supervisor.post("/api/v1/calendar/", {"year": 2027, "days": [
        {"date": "2028-01-01", "is_working_day": False}]}, format="json"), 400, attr="days")
    assert_error(supervisor.post("/api/v1/calendar/", {"year": 2027, "days": [
        {"date": "2027-01-01", "is_working_day": False}, {"date": "2027-01-01", "is_working_day": True}]},
        format="json"), 400, attr="days")
    assert_error(supervisor.post("/api/v1/calendar/", {"year": 99999, "days": []}, format="json"), 400)


def _escalate(client, case, channel, minutes_ago=60):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return client.post(f"/api/v1/cases/{case.pk}/escalations/", {"channel": channel, "submitted_at": when.isoformat()},
                       format="json").json()


def test_deadline_list_is_the_organizations_open_deadlines_with_filters(handler, user_client, other_org, case,
                                                                        make_case, other_case):
    services.deadlines_for_new_case(case=case)
    services.deadlines_for_new_case(case=other_case)
    second = make_case()
    _escalate(handler, second, "merchant")
    listed = handler.get(URL).json()
    assert listed["count"] == 3
    assert {d["case"] for d in listed["results"]} == {case.pk, second.pk}
    assert handler.get(URL, {"case": second.pk}).json()["count"] == 1
    assert handler.get(URL, {"case": other_case.pk}).json()["count"] == 0
    # the factory's case was discovered two days ago: its 24-hour evidence clock is overdue
    overdue = handler.get(URL, {"overdue": "true"}).json()
    assert [d["kind"] for d in overdue["results"]] == ["evidence_preservation"]
    assert overdue["results"][0]["overdue"] is True
    assert handler.get(URL, {"overdue": "false"}).json()["count"] == 2
    soon = (timezone.now() + timedelta(hours=1)).isoformat()  # not the merchant's 48 hours
    assert handler.get(URL, {"due_before": soon}).json()["count"] == 2
    assert_error(handler.get(URL, {"due_before": "not-a-date"}), 400, attr="due_before")
    assert_error(handler.get(URL, {"case": "99999999999999999999"}), 400, attr="case")
    other_deadline = Deadline.objects.filter(case=other_case).first()
    assert_error(handler.get(f"{URL}{other_deadline.pk}/"), 404)
    assert_error(handler.post(f"{URL}{other_deadline.pk}/suspend/", {}, format="json"), 404)


def test_suspend_resume_extend_endpoints(handler, intake, analyst, case):
    esc = _escalate(handler, case, "merchant")
    deadline = Deadline.objects.get(escalation_id=esc["id"])
    target = f"{URL}{deadline.pk}/"
    assert intake.get(target).status_code == 200
    assert_error(intake.post(f"{target}suspend/", {}, format="json"), 403)
    assert_error(analyst.get(URL), 403)
    response = handler.post(f"{target}suspend/", {"note": "等待消费者补充聊天记录"}, format="json")
    assert response.status_code == 200 and response.json()["suspended"] is True
    assert_error(handler.post(f"{target}suspend/", {}, format="json"), 409, code="already_suspended")
    response = handler.post(f"{target}resume/", {}, format="json")
    assert response.status_code == 200 and response.json()["suspended"] is False
    assert_error(handler.post(f"{target}resume/", {}, format="json"), 409, code="not_suspended")
    before = Deadline.objects.get(pk=deadline.pk).due_at
    assert_error(handler.post(f"{target}extend/", {"extend_by": 24}, format="json"), 400, attr="reason")
    assert_error(handler.post(f"{target}extend/", {"extend_by": 0, "reason": "x"}, format="json"), 400,
                 attr="extend_by")
    response = handler.post(f"{target}extend/", {"extend_by": 24, "reason": "商家请求延期一天"}, format="json")
    assert response.status_code == 200, response.content
    after = Deadline.objects.get(pk=deadline.pk)
    assert after.due_at == before + timedelta(hours=24)
    assert "商家请求延期一天" in after.extension_reason
    handler.patch(f"/api/v1/escalations/{esc['id']}/", {"outcome": "resolved"}, format="json", HTTP_IF_MATCH="*")
    assert_error(handler.post(f"{target}suspend/", {}, format="json"), 409, code="deadline_closed")


def test_working_day_extension_counts_on_the_calendar(case, make_user):
    deadline = acceptance_deadline(case, at(2026, 2, 9))
    deadline = services.deadline_extend(actor=make_user(), deadline=deadline, extend_by=3, reason="补充材料")
    assert deadline.due_at == end(2026, 2, 28)  # 26, 27, Sat 28 (make-up)


def test_admin_calendar_override_recounts(case, admin_client):
    deadline = acceptance_deadline(case, at(2026, 2, 9))
    response = admin_client.post("/admin/escalation/calendarday/add/",
                                 {"date": "2026-02-24", "is_working_day": "", "name": "local"})
    assert response.status_code == 302
    deadline.refresh_from_db()
    assert deadline.due_at == end(2026, 2, 26)
    assert admin_client.get("/admin/escalation/calendarday/").status_code == 200
    assert CalendarDay.objects.filter(date=date(2026, 2, 24)).exists()


def test_admin_case_page_shows_the_escalations_inline(case, admin_client, handler):
    _escalate(handler, case, "merchant")
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert "merchant" in page.content.decode()
    assert admin_client.get("/admin/escalation/deadline/").status_code == 200
    assert admin_client.get("/admin/escalation/escalation/").status_code == 200




def test_waiting_on_the_consumer_stops_and_restarts_every_clock(handler, intake, case, other_case):
    services.deadlines_for_new_case(case=case)
    _escalate(handler, case, "merchant")
    target = f"/api/v1/cases/{case.pk}/waiting/"
    assert_error(intake.post(target, {"waiting": True}, format="json"), 403)
    assert_error(handler.post(f"/api/v1/cases/{other_case.pk}/waiting/", {"waiting": True}, format="json"), 404)
    assert_error(handler.post(target, {"waiting": "maybe"}, format="json"), 400, attr="waiting")
    response = handler.post(target, {"waiting": True, "note": "等待消费者提供支付记录"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"waiting_on_consumer": True, "deadlines_changed": 3}
    case.refresh_from_db()
    assert case.waiting_on_consumer is True
    assert not Deadline.objects.filter(case=case, status="open", suspended_at__isnull=True).exists()
    assert handler.post(target, {"waiting": False}, format="json").json()["deadlines_changed"] == 3
    case.refresh_from_db()
    assert case.waiting_on_consumer is False
    assert not Deadline.objects.filter(case=case, suspended_at__isnull=False).exists()


def test_deadline_list_query_count_does_not_grow(handler, make_case, django_assert_max_num_queries):
    for _ in range(12):
        services.deadlines_for_new_case(case=make_case())
    with django_assert_max_num_queries(6):
        body = handler.get(URL, {"page_size": 100}).json()
    assert body["count"] == 24


def test_escalation_list_query_count_does_not_grow(handler, case, django_assert_max_num_queries):
    for channel, minutes in (("merchant", 300), ("platform", 200), ("12315", 100), ("public_complaint", 50)):
        _escalate(handler, case, channel, minutes)
    with django_assert_max_num_queries(8):
        assert handler.get(f"/api/v1/cases/{case.pk}/escalations/").json()["count"] == 4


def test_a_partner_key_sees_only_the_deadlines_of_cases_it_filed(partner, partner_key, make_case, anon):
    own = make_case(filed_by_key=partner_key[0])
    services.deadlines_for_new_case(case=own)
    services.deadlines_for_new_case(case=make_case())
    body = partner.get(URL).json()
    assert body["count"] == 2 and {d["case"] for d in body["results"]} == {own.pk}
    assert_error(partner.post(f"{URL}{body['results'][0]['id']}/suspend/", {}, format="json"), 403)
    assert_error(anon.get(URL), 401)


@pytest.mark.django_db
def test_closing_a_case_stops_its_clocks(handler, org, platform):
    """A withdrawn case has no open deadline left, so nobody is alerted about it."""
    from escalation.codes import DeadlineStatus
    from tests.helpers import payload

    now = timezone.now()
    created = handler.post("/api/v1/cases/", payload(platform, problem_found_at=(now - timedelta(hours=1)).isoformat()),
                           format="json").json()
    assert Deadline.objects.filter(case_id=created["id"], status=DeadlineStatus.OPEN).exists()
    handler.post(f"/api/v1/cases/{created['id']}/transition/", {"to": "withdrawn"}, format="json")
    assert not Deadline.objects.filter(case_id=created["id"], status=DeadlineStatus.OPEN).exists()
    assert handler.get("/api/v1/deadlines/", {"case": created["id"]}).json()["count"] == 0


@pytest.mark.django_db
def test_correcting_the_discovery_time_moves_the_clocks_that_start_from_it(handler, platform):
    from escalation.codes import DeadlineKind
    from tests.helpers import payload

    now = timezone.now()
    created = handler.post("/api/v1/cases/", payload(platform, problem_found_at=(now - timedelta(hours=30)).isoformat()),
                           format="json").json()
    preservation = Deadline.objects.get(case_id=created["id"], kind=DeadlineKind.EVIDENCE_PRESERVATION)
    corrected = now - timedelta(hours=2)
    response = handler.patch(f"/api/v1/cases/{created['id']}/", {"problem_found_at": corrected.isoformat()},
                             format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    preservation.refresh_from_db()
    assert preservation.starts_at == corrected
    assert preservation.due_at == corrected + timedelta(hours=24)
