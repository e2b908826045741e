"""Password guessing: the real client address, throttles on a shared cache, per-account lockout on both
logins, hashed expiring tokens with logout, and the admin's second factor (README "Security")."""

import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.test.client import RequestFactory
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from kameng_api.core.roles import Role
from kameng_api.core.security import client_address

from .factories import PASSWORD, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
ADMIN_LOGIN = "/admin/login/"


def rates(**changes):
    return override_settings(REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changes},
    })


def fresh_ip() -> str:
    """A client address of its own, so counts left in a shared cache by an earlier run do not matter."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"  # noqa: S311


def rotating(n: int) -> list[str]:
    return [f"203.0.113.{i % 250 + 1}, 198.51.{i // 250}.{i % 250 + 1}" for i in range(n)]


# --- the client address -------------------------------------------------------------------------

@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    (0, "192.0.2.10", "1.2.3.4", "192.0.2.10"),  # no proxy declared: the header is the client's own words
    (0, "192.0.2.10", "", "192.0.2.10"),
    (1, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the proxy appended the real peer
    (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
    (2, "10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    (2, "10.0.0.3", "10.0.0.2", "10.0.0.3"),  # shorter than the proxies declared: the peer
    (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
    (1, "10.0.0.2", "2001:db8::1", "2001:db8::1"),
    (1, "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
    (1, "10.0.0.2", "198.51.100.7:5000", "198.51.100.7"),
])
def test_client_address_trusts_only_the_declared_proxies(proxies, remote, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(KAMENG_TRUSTED_PROXIES=proxies):
        assert client_address(request) == expected


def test_cache_is_redis_when_redis_url_is_set(monkeypatch):
    """Throttle counters are shared by every gunicorn worker and node: the cache is Redis when REDIS_URL is
    set (the test settings keep a per-process cache so no counter leaks between tests)."""
    import importlib

    from kameng_api.settings import base

    monkeypatch.delenv("CACHE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    try:
        assert importlib.reload(base).CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        monkeypatch.setenv("REDIS_URL", "")
        assert importlib.reload(base).CACHES["default"]["BACKEND"].endswith("LocMemCache")
    finally:
        monkeypatch.undo()
        importlib.reload(base)


# --- throttles ----------------------------------------------------------------------------------

def test_brute_force_with_rotating_forwarded_for_is_throttled():
    UserFactory(username="victim")
    client, ip = APIClient(), fresh_ip()
    statuses = []
    with rates(login="10/hour"):
        for forwarded in rotating(30):
            response = client.post(TOKEN_URL, {"username": f"guess{len(statuses)}", "password": "x"},
                                   format="json", REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR=forwarded)
            statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10
    assert set(statuses[10:]) == {429}
    body = response.json()
    assert body["type"] == "client_error" and body["errors"][0]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_behind_a_declared_proxy_clients_are_counted_by_the_address_the_proxy_saw():
    client, proxy = APIClient(), fresh_ip()
    clients = [fresh_ip() for _ in range(3)]
    with rates(login="3/hour"), override_settings(KAMENG_TRUSTED_PROXIES=1):
        for real in clients:  # three different clients behind one proxy, each within its own allowance
            for i in range(3):
                response = client.post(TOKEN_URL, {"username": f"nobody{i}", "password": "x"}, format="json",
                                       REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{fresh_ip()}, {real}")
                assert response.status_code == 400
        # the same client with a forged left part is still the same client
        response = client.post(TOKEN_URL, {"username": "nobody9", "password": "x"}, format="json",
                               REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.1, {clients[0]}")
    assert response.status_code == 429


def test_anonymous_throttle_keys_ignore_forwarded_for():
    from django.contrib.auth.models import AnonymousUser

    from kameng_api.core.security import AnonThrottle

    keys = set()
    for i in range(5):
        request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        request.user = AnonymousUser()
        keys.add(AnonThrottle().get_cache_key(request, None))
    assert keys == {"throttle_anon_192.0.2.1"}


def forget_throttles(*keys: str) -> None:
    """Ids restart with a fresh SQLite database while the cache keeps counts: start these buckets empty."""
    from django.core.cache import cache

    cache.delete_many([f"throttle_{key}" for key in keys])


def test_partner_keys_have_their_own_throttle_scope(partner, partner_key, make_user):
    staff_user = make_user(Role.HANDLER)
    staff = APIClient()
    staff.force_authenticate(staff_user)
    forget_throttles(f"partner_{partner_key[0].pk}", f"user_{staff_user.pk}")
    with rates(partner="3/min", user="1000/min"):
        partner_codes = [partner.get("/api/v1/cases/").status_code for _ in range(5)]
        staff_codes = [staff.get("/api/v1/cases/").status_code for _ in range(5)]
    assert partner_codes == [200, 200, 200, 429, 429]
    assert staff_codes == [200] * 5


def test_admin_login_is_throttled_per_client_address():
    client, ip = Client(), fresh_ip()
    with rates(login="5/hour"):
        codes = [client.post(ADMIN_LOGIN, {"username": f"u{i}", "password": "x"}, REMOTE_ADDR=ip,
                             HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code for i in range(8)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3


# --- per-account lockout ------------------------------------------------------------------------

def test_token_login_locks_the_account_after_repeated_failures_from_any_address():
    UserFactory(username="target")
    UserFactory(username="bystander")
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(TOKEN_URL, {"username": "target", "password": "wrong"}, format="json",
                               REMOTE_ADDR=fresh_ip())
        assert response.status_code in (400, 429)
    locked = client.post(TOKEN_URL, {"username": "target", "password": PASSWORD}, format="json",
                         REMOTE_ADDR=fresh_ip(), HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert locked.json()["errors"][0]["code"] == "locked_out"
    assert "Too many failed logins" in locked.json()["errors"][0]["detail"]
    # the lockout is per account: another user of the same address signs in
    other = client.post(TOKEN_URL, {"username": "bystander", "password": PASSWORD}, format="json",
                        REMOTE_ADDR=fresh_ip())
    assert other.status_code == 200 and other.json()["token"]


def test_lockout_ends_after_the_cool_off():
    UserFactory(username="target")
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(TOKEN_URL, {"username": "target", "password": "wrong"}, format="json", REMOTE_ADDR=fresh_ip())
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = client.post(TOKEN_URL, {"username": "target", "password": PASSWORD}, format="json",
                           REMOTE_ADDR=fresh_ip())
    assert response.status_code == 200


def test_admin_login_locks_the_account_after_repeated_failures():
    UserFactory(username="staffer", role=Role.HANDLER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(ADMIN_LOGIN, {"username": "staffer", "password": "wrong"}, REMOTE_ADDR=fresh_ip())
        assert response.status_code in (200, 429)
    locked = client.post(ADMIN_LOGIN, {"username": "staffer", "password": PASSWORD}, REMOTE_ADDR=fresh_ip(),
                         HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # the token login shares the count: the same account is locked there too
    api = APIClient().post(TOKEN_URL, {"username": "staffer", "password": PASSWORD}, format="json")
    assert api.status_code == 429


# --- tokens ----------------------------------------------------------------------------------------

def login(client, username="clerk"):
    response = client.post(TOKEN_URL, {"username": username, "password": PASSWORD}, format="json",
                           REMOTE_ADDR=fresh_ip())
    assert response.status_code == 200, response.content
    return response.json()


def test_each_login_issues_a_new_hashed_expiring_token():
    user = UserFactory(username="clerk", role=Role.INTAKE)
    first, second = login(APIClient()), login(APIClient())
    assert first["token"] != second["token"]
    assert set(first) == {"token", "expiry"}
    digests = set(AuthToken.objects.filter(user=user).values_list("digest", flat=True))
    assert len(digests) == 2 and first["token"] not in digests and second["token"] not in digests
    expiry = AuthToken.objects.filter(user=user).first().expiry
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert timezone.now() + ttl - timedelta(minutes=1) < expiry <= timezone.now() + ttl


def test_expired_token_is_refused():
    user = UserFactory(username="clerk", role=Role.INTAKE)
    token = login(APIClient())["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cases/").status_code == 200
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401 and response.json()["type"] == "client_error"
    assert not AuthToken.objects.filter(user=user).exists()  # the expired token is gone


def test_logout_revokes_only_that_token():
    UserFactory(username="clerk", role=Role.INTAKE)
    first, second = login(APIClient())["token"], login(APIClient())["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    me = client.get("/api/v1/auth/me/")
    assert me.status_code == 200 and me.json()["username"] == "clerk" and me.json()["role"] == "intake"
    assert me.json()["token_expiry"]
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.get("/api/v1/cases/").status_code == 401
    assert client.delete(TOKEN_URL).status_code == 401
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert other.get("/api/v1/cases/").status_code == 200


def test_logout_without_a_token_is_401_and_with_an_api_key_too(partner):
    assert APIClient().delete(TOKEN_URL).status_code == 401
    assert partner.delete(TOKEN_URL).status_code == 401


@pytest.mark.parametrize("header", ["Token \xff\xfe", "Token a b", "Token", "Token " + "x" * 500])
def test_malformed_token_headers_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401 and response.json()["type"] == "client_error"


def test_login_ignores_a_stale_token_header():
    UserFactory(username="clerk", role=Role.INTAKE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token expired-or-revoked")
    assert client.post(TOKEN_URL, {"username": "clerk", "password": PASSWORD}, format="json").status_code == 200


# --- the admin's second factor ----------------------------------------------------------------------

def otp_code(device: TOTPDevice) -> str:
    return TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()


def code_of(device: TOTPDevice) -> str:
    return f"{otp_code(device):0{device.digits}d}"


enforced = override_settings(KAMENG_ADMIN_OTP_ENFORCED=True, KAMENG_ADMIN_OTP_EXEMPT_ORGS=["demo-cca"])


def admin_post(client, username, otp_token=""):
    return client.post(ADMIN_LOGIN, {"username": username, "password": PASSWORD, "otp_token": otp_token,
                                     "next": "/admin/"}, REMOTE_ADDR=fresh_ip(), HTTP_ACCEPT_LANGUAGE="en")


@enforced
def test_supervisor_needs_a_totp_code_for_the_admin():
    user = UserFactory(username="boss", role=Role.SUPERVISOR)
    client = Client()
    page = client.get(ADMIN_LOGIN, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'name="otp_token"' in page and "一次性验证码" in page
    no_device = admin_post(client, "boss")
    assert no_device.status_code == 200 and "no authenticator registered" in no_device.content.decode()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    missing = admin_post(client, "boss")
    assert missing.status_code == 200 and "Enter the one-time code" in missing.content.decode()
    assert "_auth_user_id" not in client.session
    wrong = admin_post(client, "boss", f"{(otp_code(device) + 1) % 10**6:06d}")
    assert wrong.status_code == 200 and "wrong or expired" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a wrong code
    ok = admin_post(client, "boss", code_of(device))
    assert ok.status_code == 302 and ok["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@enforced
def test_wrong_codes_count_towards_the_lockout():
    user = UserFactory(username="boss", role=Role.SUPERVISOR)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_post(client, "boss", f"{(otp_code(device) + 1) % 10**6:06d}")
    assert admin_post(client, "boss", code_of(device)).status_code == 429


@enforced
def test_other_roles_need_a_code_only_when_their_organization_asks_or_they_opted_in():
    org = OrganizationFactory()
    UserFactory(username="clerk", role=Role.HANDLER, organization=org)
    client = Client()
    assert admin_post(client, "clerk").status_code == 302  # optional by default
    org.require_totp = True
    org.save()
    refused = admin_post(Client(), "clerk")
    assert refused.status_code == 200 and "no authenticator registered" in refused.content.decode()


@enforced
def test_a_session_without_the_second_factor_is_sent_back_to_the_login():
    client = Client()
    client.force_login(UserFactory(role=Role.SUPERVISOR))
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
    assert "_auth_user_id" not in client.session


@enforced
def test_demo_organization_is_exempt_by_setting():
    demo = OrganizationFactory(slug="demo-cca")
    UserFactory(username="supervisor", role=Role.SUPERVISOR, organization=demo)
    client = Client()
    assert admin_post(client, "supervisor").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_enroll_totp_command_prints_an_otpauth_url():
    from io import StringIO

    from django.core.management import call_command

    user = UserFactory(username="boss", role=Role.SUPERVISOR)
    out = StringIO()
    call_command("enroll_totp", "boss", stdout=out)
    assert out.getvalue().startswith("otpauth://totp/")
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1


# --- across gunicorn workers ---------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    for port in random.sample(range(8150, 8200), 50):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 8150-8199")


@pytest.fixture
def gunicorn_server(transactional_db, real_postgres, tmp_path):
    """gunicorn with three sync workers (separate processes) on this run's database and Redis."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from django.db import connection

    from .conftest import ROOT, require

    require(bool(settings.REDIS_URL), "REDIS_URL is not set: no shared cache for the workers")
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.test", "THROTTLE_LOGIN": "10/hour",
        "KAMENG_TRUSTED_PROXIES": "1", "KAMENG_TEST_SHARED_CACHE": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "kameng_api.wsgi:application", "--workers", "3",
                             "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)  # noqa: S310
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.mark.postgres
def test_login_throttle_is_shared_by_every_gunicorn_worker(gunicorn_server):
    """Three worker processes, concurrent guesses from one client (behind one declared proxy) with a
    rotating forged part in X-Forwarded-For: one count for the client. With a per-process cache each
    worker would allow its own 10 (30 in all)."""
    client = fresh_ip()
    import json
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def guess(i):
        request = urllib.request.Request(  # noqa: S310
            f"{gunicorn_server}/api/v1/auth/token/", method="POST",
            data=json.dumps({"username": f"guess{i}", "password": "x"}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{i + 1}, {client}",
                     "Connection": "close"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(guess, range(36)))
    # one atomic count in Redis: exactly the rate, however the requests were spread over the workers
    # (unless the hour turned during the burst, when a new window starts)
    assert statuses.count(400) in (10, 20) and statuses.count(429) == 36 - statuses.count(400), statuses
