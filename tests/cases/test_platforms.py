import pytest

from cases.models import Platform
from kameng_api.core.models import AuditLog
from tests.factories import PlatformFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/platforms/"


def test_supervisor_adds_and_edits_a_platform(supervisor):
    response = supervisor.post(URL, {
        "name": "速购卡盟", "domains": ["SuGou.example.cn", "sugou.example.cn"], "credit_code": "91330100ma2h0aaa1b",
        "icp_number": "浙ICP备2026000001号", "has_deposit_scheme": True, "complaint_window_hours": 24,
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domains"] == ["sugou.example.cn"] and body["credit_code"] == "91330100MA2H0AAA1B"
    assert body["response_working_days"] == 3  # the default answer time
    patched = supervisor.patch(f"{URL}{body['id']}/", {"cross_border": True}, format="json", HTTP_IF_MATCH="*")
    assert patched.status_code == 200 and patched.json()["cross_border"] is True
    assert AuditLog.objects.filter(action="platform_save").count() == 2


@pytest.mark.parametrize(("data", "attr"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "A", "domains": ["not a domain"]}, "domains"),
    ({"name": "A", "domains": "x.cn"}, "domains"),
    ({"name": "A", "domains": ["a.cn"] * 21}, "domains"),
    ({"name": "A", "credit_code": "123"}, "credit_code"),
    ({"name": "A", "complaint_window_hours": 0}, "complaint_window_hours"),
    ({"name": "A", "complaint_window_hours": 10**12}, "complaint_window_hours"),
    ({"name": "A", "response_working_days": -1}, "response_working_days"),
    ({"name": "A", "complaint_window_from": "payment"}, "complaint_window_from"),
])
def test_bad_platform_input_is_400(supervisor, data, attr):
    response = supervisor.post(URL, data, format="json")
    body = assert_error(response, 400)
    assert any(e["attr"] and e["attr"].startswith(attr) for e in body["errors"]), body
    assert not Platform.objects.exists()


def test_platform_names_are_unique(supervisor):
    PlatformFactory(name="星辰发卡网")
    assert_error(supervisor.post(URL, {"name": "星辰发卡网"}, format="json"), 400, attr="name")


def test_everyone_reads_the_registry_but_only_supervisors_write(handler, analyst, partner):
    PlatformFactory()
    for client in (handler, analyst, partner):
        assert client.get(URL).json()["count"] == 1
    assert_error(handler.post(URL, {"name": "X"}, format="json"), 403)


def test_merchants_are_created_from_cases_and_listed(intake, platform):
    from tests.helpers import payload

    intake.post("/api/v1/cases/", payload(platform), format="json")
    merchants = intake.get("/api/v1/merchants/", {"platform": platform.pk}).json()
    assert [m["name"] for m in merchants["results"]] == ["星辰点卡店"]
    assert_error(intake.get("/api/v1/merchants/", {"platform": "abc"}), 400, attr="platform")


def test_english_and_chinese_messages(intake):
    en = intake.post("/api/v1/cases/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    zh = intake.post("/api/v1/cases/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert en["errors"][0]["detail"] == "This field is required."
    assert zh["errors"][0]["detail"] == "该字段是必填项。"
