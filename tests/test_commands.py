"""The management commands of API.md, used the way an operator would."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from rest_framework.test import APIClient

from cases.models import ApiKey, Case, Organization, User

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_operator_sets_up_an_organization_users_and_a_partner_key():
    run("create_organization", "hz-cca", "--name", "杭州市消费者协会")
    run("create_staff_user", "li", "--org", "hz-cca", "--role", "handler", "--password", "a-long-password-1")
    raw, err = run("create_api_key", "--org", "hz-cca", "--name", "维权小程序")
    assert "not shown again" in err and raw.startswith("km_")
    user = User.objects.get(username="li")
    assert user.organization.slug == "hz-cca" and user.role == "handler" and user.check_password("a-long-password-1")
    assert user.groups.filter(name="role:handler").exists()
    key = ApiKey.objects.get()
    assert raw not in key.hashed_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/cases/").status_code == 200
    run("revoke_api_key", key.prefix)
    assert client.get("/api/v1/cases/").status_code == 401


@pytest.mark.parametrize("args", [
    ("create_organization", "Bad Slug!", "--name", "x"),
    ("create_staff_user", "x", "--org", "missing", "--role", "intake", "--password", "a-long-password-1"),
    ("create_api_key", "--org", "missing", "--name", "x"),
    ("revoke_api_key", "nope"),
])
def test_bad_arguments_are_clear_errors(args):
    with pytest.raises(CommandError):
        run(*args)


def test_duplicate_organization_and_weak_password_are_refused():
    run("create_organization", "dup", "--name", "x")
    with pytest.raises(CommandError, match="already exists"):
        run("create_organization", "dup", "--name", "y")
    with pytest.raises(CommandError):
        run("create_staff_user", "weak", "--org", "dup", "--role", "intake", "--password", "123")
    assert not User.objects.filter(username="weak").exists()


def test_load_demo_makes_a_year_of_work_and_is_rerunnable():
    from django.db.models import Max, Min

    from escalation.models import Escalation
    from evidence.models import Evidence
    from evidence.selectors import chain_verify

    out, _err = run("load_demo", "--cases", "60")
    assert "60 + 10 cases" in out
    assert run("load_demo")[0] == "Demo data already loaded."  # a second run changes nothing
    org = Organization.objects.get(slug="demo-cca")
    assert set(User.objects.filter(organization=org).values_list("role", flat=True)) == {
        "analyst", "handler", "intake", "supervisor"}
    cases = Case.objects.filter(organization=org)
    assert cases.count() == 60
    span = cases.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (span["last"] - span["first"]).days > 180  # spread over the year, not all "now"
    assert cases.values("platform").distinct().count() >= 4
    assert {1, 2, 3} <= set(Escalation.objects.filter(case__organization=org).values_list("level", flat=True))
    assert cases.filter(status="resolved", consumer_rating__isnull=False).exists()
    assert cases.filter(status__in=["intake", "negotiating", "platform_review", "third_party", "legal"]).exists()
    assert Escalation.objects.filter(case__organization=org, responded_at__isnull=False).exists()
    item = Evidence.objects.filter(case__organization=org).first()
    assert item is not None and chain_verify(item.case)["intact"]  # real files, hashed into the chain
    other = Organization.objects.get(slug="demo-other")
    assert Case.objects.filter(organization=other).exists()
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "intake", "password": "kameng-demo-2026"},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cases/").json()["count"] == 60
    analyst = APIClient()
    analyst.force_authenticate(User.objects.get(username="analyst"))
    stats = analyst.get("/api/v1/stats/platforms/", {"from": str((span["first"]).date()),
                                                     "to": str(span["last"].date())}).json()["results"]
    assert sum(row["complaints"] for row in stats) == 60  # the summary tables are built at load time


def test_healthz_reports_database_and_broker():
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
