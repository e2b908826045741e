from datetime import timedelta

import pytest

from kameng_api.core.roles import Role
from notifications import services
from notifications.models import Alert, Delivery, WebhookEndpoint
from tests.factories import CaseFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts/"
HOOKS = "/api/v1/webhooks/"
H = timedelta(hours=1)


@pytest.fixture
def alerts(make_deadline, org, other_org, partner_key):
    """An alert on a staff-filed case, one on a partner-filed case, one in another organization."""
    make_deadline(due_in=-H)
    make_deadline(due_in=20 * H, case=CaseFactory(organization=org, filed_by_key=partner_key[0]))
    make_deadline(due_in=-H, case=CaseFactory(organization=other_org))
    services.deadline_alerts_scan()
    own = Alert.objects.get(organization=org, kind="overdue")
    partner_alert = Alert.objects.get(organization=org, kind="due_soon_24h")
    other = Alert.objects.get(organization=other_org)
    return own, partner_alert, other


@pytest.mark.parametrize("role", [Role.INTAKE, Role.HANDLER, Role.SUPERVISOR])
def test_staff_list_their_organizations_alerts(user_client, role, alerts):
    own, partner_alert, other = alerts
    body = user_client(role).get(ALERTS).json()
    assert sorted(a["id"] for a in body["results"]) == sorted([own.pk, partner_alert.pk])
    first = next(a for a in body["results"] if a["id"] == own.pk)
    assert first["kind"] == "overdue" and first["acknowledged"] is False
    assert first["reference"] == own.case.reference and first["deadline"]["kind"] == "merchant_answer"


def test_partner_key_sees_alerts_of_its_partner_filed_cases_only(partner, alerts):
    own, partner_alert, _other = alerts
    body = partner.get(ALERTS).json()
    assert [a["id"] for a in body["results"]] == [partner_alert.pk]
    assert_error(partner.get(f"{ALERTS}{own.pk}/"), 404)
    assert_error(partner.post(f"{ALERTS}{own.pk}/ack/"), 404)


def test_alerts_refuse_analysts_and_anonymous(analyst, anon, alerts):
    assert_error(analyst.get(ALERTS), 403)
    assert_error(analyst.post(f"{ALERTS}{alerts[0].pk}/ack/"), 403)
    assert_error(anon.get(ALERTS), 401)


def test_another_organizations_alert_is_a_404(handler, alerts):
    other = alerts[2]
    assert_error(handler.get(f"{ALERTS}{other.pk}/"), 404)
    assert_error(handler.post(f"{ALERTS}{other.pk}/ack/"), 404)
    assert handler.get(ALERTS, {"case": other.case_id}).json()["count"] == 0


def test_ack_once_and_filters(handler, alerts):
    own = alerts[0]
    first = handler.post(f"{ALERTS}{own.pk}/ack/")
    assert first.status_code == 200 and first.json()["acknowledged"] is True
    again = handler.post(f"{ALERTS}{own.pk}/ack/").json()
    assert again["acknowledged_at"] == first.json()["acknowledged_at"]
    assert [a["id"] for a in handler.get(ALERTS, {"acknowledged": "true"}).json()["results"]] == [own.pk]
    assert [a["id"] for a in handler.get(ALERTS, {"acknowledged": "false"}).json()["results"]] == [alerts[1].pk]
    assert [a["id"] for a in handler.get(ALERTS, {"kind": "overdue"}).json()["results"]] == [own.pk]
    assert [a["id"] for a in handler.get(ALERTS, {"case": own.case_id}).json()["results"]] == [own.pk]


@pytest.mark.parametrize("params", [{"case": "99999999999999999999999"}, {"case": "abc"}, {"kind": "x" * 500},
                                    {"acknowledged": "maybe"}])
def test_bad_alert_filters_are_400(handler, alerts, params):
    assert_error(handler.get(ALERTS, params), 400)


def test_huge_alert_id_is_a_404(handler):
    assert_error(handler.get(f"{ALERTS}99999999999999999999999/"), 404)


def _create(client, **overrides):
    data = {"url": "http://127.0.0.1:9/hooks", "events": ["deadline.overdue", "case.status_changed"],
            "description": "工单系统"}
    data.update(overrides)
    return client.post(HOOKS, data, format="json")


def test_supervisor_creates_a_webhook_and_sees_the_secret_once(supervisor):
    response = _create(supervisor)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["case.status_changed", "deadline.overdue"]
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == body["secret"]
    assert "secret" not in supervisor.get(f"{HOOKS}{body['id']}/").json()
    assert "secret" not in str(supervisor.get(HOOKS).json())


@pytest.mark.parametrize("role", [Role.INTAKE, Role.HANDLER, Role.ANALYST])
def test_other_roles_cannot_manage_webhooks(user_client, role):
    client = user_client(role)
    assert_error(_create(client), 403)
    assert_error(client.get(HOOKS), 403)


def test_anonymous_cannot_manage_webhooks(anon):
    assert_error(_create(anon), 401)


def test_partner_manages_its_own_endpoints_supervisor_sees_all(partner, supervisor, user_client, other_org):
    mine = _create(partner).json()
    theirs = _create(supervisor).json()
    assert [h["id"] for h in partner.get(HOOKS).json()["results"]] == [mine["id"]]
    assert_error(partner.get(f"{HOOKS}{theirs['id']}/"), 404)
    assert sorted(h["id"] for h in supervisor.get(HOOKS).json()["results"]) == sorted([mine["id"], theirs["id"]])
    outsider = user_client(Role.SUPERVISOR, other_org)
    assert_error(outsider.get(f"{HOOKS}{mine['id']}/"), 404)
    assert_error(outsider.patch(f"{HOOKS}{mine['id']}/", {"description": "x"}, format="json", HTTP_IF_MATCH="*"), 404)
    assert_error(outsider.delete(f"{HOOKS}{mine['id']}/"), 404)
    assert_error(outsider.get(f"{HOOKS}{mine['id']}/deliveries/"), 404)
    assert outsider.get(HOOKS).json()["count"] == 0


def test_patch_reenables_and_delete_removes(supervisor):
    hook = _create(supervisor).json()
    WebhookEndpoint.objects.filter(pk=hook["id"]).update(is_active=False, consecutive_failures=10,
                                                          disabled_reason="10 failed attempts in a row")
    body = supervisor.patch(f"{HOOKS}{hook['id']}/", {"is_active": True, "events": ["case.created"]},
                            format="json", HTTP_IF_MATCH="*").json()
    assert body["is_active"] is True and body["consecutive_failures"] == 0 and body["events"] == ["case.created"]
    assert supervisor.delete(f"{HOOKS}{hook['id']}/").status_code == 204
    assert_error(supervisor.get(f"{HOOKS}{hook['id']}/"), 404)


def test_delivery_log_lists_attempts(supervisor, make_deadline, org):
    hook = _create(supervisor, events=["deadline.overdue"]).json()
    make_deadline(due_in=-H)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(endpoint_id=hook["id"])
    services.delivery_attempt(delivery_id=delivery.pk)
    body = supervisor.get(f"{HOOKS}{hook['id']}/deliveries/").json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["id"] == str(delivery.uid) and entry["event"] == "deadline.overdue"
    assert entry["attempts"] == 1 and entry["status"] == "pending" and entry["last_error"]


@pytest.mark.parametrize(("overrides", "attr"), [
    ({"url": "ftp://example.cn/hook"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://" + "a" * 3000 + ".cn/"}, "url"),
    ({"url": ""}, "url"),
    ({"url": 12}, None),
    ({"events": ["deadline.exploded"]}, None),
    ({"events": []}, "events"),
    ({"events": "deadline.overdue"}, "events"),
    ({"events": ["x" * 10000]}, None),
    ({"description": "说" * 1000}, "description"),
])
def test_bad_webhook_input_is_400(supervisor, overrides, attr):
    body = assert_error(_create(supervisor, **overrides), 400, attr=attr)
    assert body["type"] == "validation_error"
    assert not WebhookEndpoint.objects.exists()


def test_private_urls_are_refused_when_the_setting_is_on(supervisor, settings):
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = True
    assert_error(_create(supervisor, url="http://127.0.0.1:8000/hooks"), 400, attr="url")
    assert_error(_create(supervisor, url="http://169.254.169.254/latest/"), 400, attr="url")
    hook = _create(supervisor, url="https://93.184.216.34/hooks").json()
    assert_error(supervisor.patch(f"{HOOKS}{hook['id']}/", {"url": "http://10.0.0.1/"}, format="json", HTTP_IF_MATCH="*"), 400,
                 attr="url")


def test_english_error_messages(supervisor):
    response = supervisor.post(HOOKS, {"url": "ftp://x.cn/", "events": ["case.created"]}, format="json",
                               HTTP_ACCEPT_LANGUAGE="en")
    assert "Only http and https" in str(response.json())
    response = supervisor.post(HOOKS, {"url": "ftp://x.cn/", "events": ["case.created"]}, format="json")
    assert "只允许" in str(response.json())
