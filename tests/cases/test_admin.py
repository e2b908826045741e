"""The admin as staff use it: their organization only, complaints registered through the services."""

import pytest
from django.test import Client

from cases.models import ApiKey, Case
from kameng_api.core.roles import Role
from tests.factories import CaseFactory, OrganizationFactory, PlatformFactory, UserFactory
from tests.helpers import staff_login

pytestmark = pytest.mark.django_db


staff = staff_login


def intake_form(platform, **overrides):
    data = {
        "platform": platform.pk, "merchant_name": "乐玩数码", "order_number": "ADM-0001",
        "product_type": "activation_key", "amount_paid": "200.00", "payment_channel": "wechat",
        "purchased_at_0": "2026-11-01", "purchased_at_1": "10:00:00",
        "delivered_at_0": "2026-11-01", "delivered_at_1": "10:05:00",
        "problem_found_at_0": "2026-11-02", "problem_found_at_1": "09:00:00",
        "dispute_type": "invalid_code", "description": "激活失败", "consumer_name": "王芳",
        "consumer_phone": "13900001111", "claim_refund": "200.00",
    }
    data.update(overrides)
    return data


def test_intake_registers_a_complaint_in_the_admin():
    user, client = staff(Role.INTAKE)
    platform = PlatformFactory()
    response = client.post("/admin/cases/case/add/", intake_form(platform))
    assert response.status_code == 302, response.context["adminform"].form.errors
    case = Case.objects.get()
    assert case.organization_id == user.organization_id and case.reference.startswith("KM-")
    assert case.claims.get().kind == "refund" and case.events.get().kind == "created"


def test_admin_intake_shows_rule_errors_and_writes_nothing():
    _user, client = staff(Role.INTAKE)
    platform = PlatformFactory()
    response = client.post("/admin/cases/case/add/", intake_form(platform, claim_refund="999.00"))
    assert response.status_code == 200
    assert len(response.context["adminform"].form.non_field_errors()) == 1  # refund above the price
    assert Case.objects.count() == 0
    response = client.post("/admin/cases/case/add/", intake_form(platform, claim_punitive="on"),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and Case.objects.count() == 0
    assert "art. 55" in str(response.context["adminform"].form.non_field_errors())


def test_staff_see_only_their_organizations_cases_in_the_admin():
    user, client = staff(Role.SUPERVISOR)
    mine = CaseFactory(organization=user.organization)
    theirs = CaseFactory()
    listing = client.get("/admin/cases/case/").content.decode()
    assert mine.reference in listing and theirs.reference not in listing
    assert client.get(f"/admin/cases/case/{theirs.pk}/change/").status_code == 302  # "doesn't exist" redirect
    assert client.get(f"/admin/cases/case/{mine.pk}/change/").status_code == 200


def test_analyst_has_no_admin_case_access():
    user = UserFactory(role=Role.ANALYST, is_staff=False)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/cases/case/").status_code == 302


def test_supervisor_assigns_in_the_admin_through_the_service():
    """Assigning is a move on the case page (the "Assign" action), run by services.case_assign."""
    user, client = staff(Role.SUPERVISOR)
    handler = UserFactory(role=Role.HANDLER, organization=user.organization)
    outsider = UserFactory(role=Role.HANDLER, organization=OrganizationFactory())
    case = CaseFactory(organization=user.organization)
    page = client.get(f"/admin/cases/case/{case.pk}/act/assign/")
    assert page.status_code == 200
    choices = [str(value) for value, _label in page.context["form"].fields["assignee"].choices]
    assert str(handler.pk) in choices and str(outsider.pk) not in choices
    response = client.post(f"/admin/cases/case/{case.pk}/act/assign/", {"assignee": outsider.pk})
    assert response.status_code == 200 and "assignee" in response.context["form"].errors
    response = client.post(f"/admin/cases/case/{case.pk}/act/assign/", {"assignee": handler.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == handler
    assert case.events.filter(kind="assigned").count() == 1


def test_api_key_created_in_the_admin_is_shown_once_and_stored_hashed():
    user, client = staff(Role.SUPERVISOR)
    response = client.post("/admin/cases/apikey/add/", {"organization": user.organization_id, "name": "小程序"},
                           follow=True)
    key = ApiKey.objects.get()
    text = response.content.decode()
    assert f"km_{key.prefix}." in text
    shown = text.split(f"km_{key.prefix}.")[1].split("<")[0].split()[0]
    assert shown not in key.hashed_key
