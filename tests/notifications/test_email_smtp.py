"""Alert e-mail leaves through the SMTP server the environment names (EMAIL_URL or EMAIL_HOST & co.):
a real SMTP server (aiosmtpd) started by the test receives it, authenticated."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifications import services
from notifications.models import Delivery
from tests.conftest import ROOT
from tests.factories import CaseFactory, UserFactory

PORT = 8241
USER, PASSWORD = "kameng", "s3cret-pass"


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "data": envelope.content.decode("utf-8", "replace"),
                              "login": getattr(session, "login_data", None) or session.auth_data})
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
        and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


@pytest.fixture
def smtp_server():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=PORT, authenticator=_authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    yield sink
    controller.stop()


def test_environment_email_url_reaches_the_smtp_server(smtp_server, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.base",
           "EMAIL_URL": f"smtp://{USER}:{PASSWORD}@127.0.0.1:{PORT}",
           "DJANGO_DEFAULT_FROM_EMAIL": "Kameng <alerts@kameng.example.cn>"}
    env.pop("DJANGO_EMAIL_BACKEND", None)
    result = subprocess.run([sys.executable, "manage.py", "sendtestemail", "ops@example.cn"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["to"] == ["ops@example.cn"] and message["from"] == "alerts@kameng.example.cn"
    assert message["login"] == USER


def test_separate_email_variables_are_read_too(smtp_server):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.base", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(PORT), "EMAIL_HOST_USER": USER, "EMAIL_HOST_PASSWORD": PASSWORD,
           "EMAIL_USE_TLS": "false"}
    for name in ("EMAIL_URL", "DJANGO_EMAIL_BACKEND"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "manage.py", "sendtestemail", "ops@example.cn"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [m["to"] for m in smtp_server.messages] == [["ops@example.cn"]]


def test_a_wrong_password_is_a_failed_attempt_not_a_sent_mark(smtp_server, settings, org, make_deadline):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", PORT
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, "wrong"
    assignee = UserFactory(organization=org, role="handler", email="handler@example.cn")
    make_deadline(due_in=-timedelta(minutes=5), case=CaseFactory(organization=org, assignee=assignee))
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="email")
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error
    assert smtp_server.messages == []


def test_an_alert_email_is_delivered_through_smtp_once(smtp_server, settings, org, make_deadline):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", PORT
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, PASSWORD
    assignee = UserFactory(organization=org, role="handler", email="handler@example.cn")
    case = CaseFactory(organization=org, assignee=assignee)
    make_deadline(due_in=-timedelta(minutes=5), case=case)
    services.deadline_alerts_scan()
    delivery = Delivery.objects.get(channel="email")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "sent"
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["to"] == ["handler@example.cn"] and message["login"] == USER
    assert f"X-Kameng-Delivery: {delivery.uid}" in message["data"]
    assert case.reference in message["data"]
