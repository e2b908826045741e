"""The procedure on the case page of the admin: the same services as the API, offered by role and stage."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.codes import Role
from cases.models import Organization
from procedure.models import IssuedDocument, Procedure
from tests.cases.test_admin_workplace import act, actions_on, make_case, org, staff  # noqa: F401

pytestmark = pytest.mark.django_db
STEP = {"n": 0}


@pytest.fixture(autouse=True)
def association(org):  # noqa: F811
    STEP["n"] = 0
    Organization.objects.filter(pk=org.pk).update(kind="consumer_association", name="上海市消费者权益保护委员会",
                                                  document_prefix="沪消保委")


def when(moment=None) -> dict:
    """Each step a little later than the one before (the forms take whole seconds)."""
    STEP["n"] += 1
    local = timezone.localtime(moment or timezone.now() + timedelta(seconds=2 * STEP["n"]))
    return {"_0": local.strftime("%Y-%m-%d"), "_1": local.strftime("%H:%M:%S")}


def dt(name, moment=None) -> dict:
    return {f"{name}{k}": v for k, v in when(moment).items()}


def test_accepted_to_agreement_performed_in_the_admin(org, make_case):  # noqa: F811
    case = make_case()
    _user, handler = staff(Role.HANDLER, org)
    page = handler.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert "acceptance" in actions_on(page)
    response = act(handler, case, "acceptance", {"decision": "accept", **dt("decided_at")})
    assert response.status_code == 302, response.content.decode()[-3000:]
    page = handler.get(f"/admin/cases/case/{case.pk}/change/")
    assert {"mediation_session", "mediation_agreement", "mediation_termination"} <= actions_on(page)
    assert "沪消保委受字〔" in page.content.decode()
    assert act(handler, case, "mediation_session", {
        **dt("held_at"), "mode": "phone", "merchant_representative": "赵六", "outcome": "agreement"}).status_code == 302
    pay_by = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert act(handler, case, "mediation_agreement", {
        "amount": "200.00", "pay_by": pay_by, "terms": "退款200元", "if_unpaid": "可起诉", **dt("signed_at")}
    ).status_code == 302
    assert act(handler, case, "agreement_performed", {**dt("performed_at")}).status_code == 302
    assert Procedure.objects.get(case=case).stage == "performed"
    document = IssuedDocument.objects.get(case=case, kind="mediation_agreement")
    download = handler.get(f"/admin/cases/case/{case.pk}/procedure-documents/{document.pk}/?lang=zh-hans")
    assert "调解协议书" in download.content.decode()


def test_refusal_needs_a_supervisor_in_the_admin(org, make_case):  # noqa: F811
    case = make_case()
    _user, handler = staff(Role.HANDLER, org)
    _boss, supervisor = staff(Role.SUPERVISOR, org)
    missing = act(handler, case, "acceptance", {"decision": "refuse", **dt("decided_at")})
    assert missing.status_code == 200 and "errorlist" in missing.content.decode()
    assert Procedure.objects.get(case=case).stage == "registered"
    act(handler, case, "acceptance", {"decision": "refuse", "ground": "no_respondent", **dt("decided_at")})
    assert Procedure.objects.get(case=case).stage == "refusal_proposed"
    assert "refusal_review" not in actions_on(handler.get(f"/admin/cases/case/{case.pk}/change/"))
    assert act(handler, case, "refusal_review", {"approve": "yes"}).status_code == 403
    assert act(supervisor, case, "refusal_review", {"approve": "yes"}).status_code == 302
    assert Procedure.objects.get(case=case).stage == "refused"
    assert IssuedDocument.objects.filter(case=case, kind="refusal_notice").exists()


def test_terminated_then_supported_in_the_admin(org, make_case):  # noqa: F811
    case = make_case()
    _boss, supervisor = staff(Role.SUPERVISOR, org)
    act(supervisor, case, "acceptance", {"decision": "accept", **dt("decided_at")})
    assert act(supervisor, case, "mediation_termination", {"reason": "no_agreement", **dt("at")}).status_code == 302
    assert act(supervisor, case, "lawsuit_support", {"court": "上海市浦东新区人民法院", "facts_found": "卡密无效",
                                                   "opinion": "应退款"}).status_code == 302
    assert IssuedDocument.objects.filter(case=case, kind="lawsuit_support").exists()
