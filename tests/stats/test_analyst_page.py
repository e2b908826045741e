"""The analysts' page (`/analyst/`) through Django's test client, as each role: who gets in, what the charts
say (titles, axes, legends, withheld notes), the figures against the database, filters and bad input."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client

from cases.codes import DisputeType, ProductType, Role
from stats.services import stats_rebuild
from tests.factories import PASSWORD, OrganizationFactory, PlatformFactory, UserFactory

from .conftest import at, make_case

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2025-03-01", "to": "2025-03-05"}


@pytest.fixture
def data(org, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 10
    big, small = PlatformFactory(name="星辰卡盟"), PlatformFactory(name="极速卡盟")
    cases = populate(big, n=40, seed=3) + populate(small, n=7, seed=4)
    other = OrganizationFactory()
    elsewhere = PlatformFactory(name="远方卡盟")
    populate(elsewhere, n=12, seed=5, organization=other)
    stats_rebuild()
    return big, small, elsewhere, cases


def signed_in(role, org):
    user = UserFactory(role=role, organization=org, is_staff=role != Role.ANALYST)
    client = Client()
    client.force_login(user)
    return client


def own_counts(org_id, first, last, **where):
    """Complaints per platform name, counted in SQL over the cases (local date of opening)."""
    assert set(where) <= {"product_type", "dispute_type"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.name, count(*) FROM cases_case c JOIN cases_platform p ON p.id = c.platform_id "
            "WHERE (%s IS NULL OR c.organization_id = %s) "
            "AND (c.created_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %s AND %s "
            "AND (%s IS NULL OR c.product_type = %s) AND (%s IS NULL OR c.dispute_type = %s) GROUP BY p.name",
            [org_id, org_id, first, last, where.get("product_type"), where.get("product_type"),
             where.get("dispute_type"), where.get("dispute_type")])
        return dict(cursor.fetchall())


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_anonymous_goes_to_the_login_page():
    response = Client().get("/analyst/", PERIOD)
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == "/analyst/login/"
    assert parse_qs(target.query)["next"] == ["/analyst/?from=2025-03-01&to=2025-03-05"]


@pytest.mark.parametrize("role", [Role.INTAKE, Role.HANDLER])
def test_roles_the_stats_api_refuses_get_403(org, role):
    response = signed_in(role, org).get("/analyst/")
    assert response.status_code == 403
    assert "Your role does not allow reading statistics." in response.content.decode() or \
        "您的角色无权读取统计数据" in response.content.decode()


def test_intake_staff_cannot_sign_in_here(org):
    user = UserFactory(role=Role.INTAKE, organization=org, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/analyst/login/")
    token = page.cookies["csrftoken"].value
    response = client.post("/analyst/login/", {"username": user.username, "password": PASSWORD,
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 200  # the form again, with the error
    assert "_auth_user_id" not in client.session
    assert client.get("/analyst/").status_code == 302


def test_an_analyst_signs_in_with_the_login_form_and_csrf(org, data):
    user = UserFactory(role=Role.ANALYST, organization=org, is_staff=False)
    client = Client(enforce_csrf_checks=True)
    assert client.post("/analyst/login/", {"username": user.username, "password": PASSWORD}).status_code == 403
    page = client.get("/analyst/login/?next=/analyst/%3Ffrom%3D2025-03-01%26to%3D2025-03-05")
    token = page.cookies["csrftoken"].value
    response = client.post("/analyst/login/?next=/analyst/%3Ffrom%3D2025-03-01%26to%3D2025-03-05",
                           {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token,
                            "next": "/analyst/?from=2025-03-01&to=2025-03-05"})
    assert response.status_code == 302 and response["Location"] == "/analyst/?from=2025-03-01&to=2025-03-05"
    assert client.get(response["Location"]).status_code == 200
    token = client.cookies["csrftoken"].value
    assert client.post("/analyst/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/analyst/").status_code == 302


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SUPERVISOR])
def test_the_page_shows_titled_charts_axes_legends_and_withheld_notes(org, data, role):
    big, small, elsewhere, _cases = data
    response = signed_in(role, org).get("/analyst/", {**PERIOD, "platform": small.id})
    assert response.status_code == 200
    html = response.content.decode()
    titles = re.findall(r'<text class="km-chart-title"[^>]*>([^<]+)</text>', html)
    assert titles == ["各平台投诉量（前 2 位）", "各平台解决率", "各平台的平台响应率", "各月投诉量（投诉最多的平台）",
                      "极速卡盟：各月解决率与平台响应率"]
    assert html.count('class="km-axis-x"') == 5 and html.count('class="km-axis-y"') == 5
    assert html.count('class="km-chart-legend"') == 5
    assert "投诉量（件）" in html and "平台" in html and "月份" in html and "比率" in html
    # the small platform (7 complaints) has its rates withheld: a visible note, and why
    closed = sum(1 for c in _cases if c.platform_id == small.id and c.status in ("resolved", "rejected", "withdrawn"))
    assert f"极速卡盟：样本不足 (n={closed})" in html
    assert "样本不足：少于 10 件，不计算比率" in html
    assert "少于 10 件时不公布比率" in html
    # another organization's complaints (organization scope); the registry's names stay in the platform list
    assert "远方卡盟" not in html.split('id="overview"')[1]


def test_the_ranking_and_overview_equal_our_own_sql(org, data):
    big, small, _elsewhere, _cases = data
    html = signed_in(Role.ANALYST, org).get("/analyst/", PERIOD).content.decode()
    counts = own_counts(org.id, "2025-03-01", "2025-03-05")
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(\d+)", html, re.S)
    assert [(text_of(rank).strip(), name, int(n)) for rank, name, n in rows] == [
        ("1", "星辰卡盟", counts["星辰卡盟"]), (f"未排名 (n={counts['极速卡盟']})", "极速卡盟", counts["极速卡盟"])]
    assert f"{sum(counts.values())} 件投诉，涉及 2 个平台" in html


def test_filters_narrow_the_figures_and_the_download_links_carry_them(org, data):
    html = signed_in(Role.ANALYST, org).get("/analyst/", {
        **PERIOD, "product_type": ProductType.GAME_CARD, "dispute_type": DisputeType.DELIVERY_DELAY}).content.decode()
    counts = own_counts(org.id, "2025-03-01", "2025-03-05", product_type=ProductType.GAME_CARD,
                        dispute_type=DisputeType.DELIVERY_DELAY)
    rows = re.findall(r"<tr>\s*<td>.*?</td>\s*<td>(.*?)</td>\s*<td>(\d+)", html, re.S)
    assert {name: int(n) for name, n in rows} == counts
    links = re.findall(r'href="(/api/v1/stats/[^"]+)"', html)
    xlsx = next(link for link in links if link.startswith("/api/v1/stats/platforms/?") and "format=xlsx" in link)
    query = parse_qs(urlparse(xlsx.replace("&amp;", "&")).query)
    assert query == {"from": ["2025-03-01"], "to": ["2025-03-05"], "product_type": ["game_card"],
                     "dispute_type": ["delivery_delay"], "format": ["xlsx"]}
    assert any("/api/v1/stats/report/?" in link and "format=docx" in link for link in links)
    assert "分析报告只按期间统计" in html


def test_the_download_links_work_with_the_session(org, data):
    client = signed_in(Role.ANALYST, org)
    html = client.get("/analyst/", PERIOD).content.decode()
    for link in re.findall(r'href="(/api/v1/stats/platforms/[^"]+)"', html):
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        assert response["Content-Disposition"].startswith("attachment")


def test_national_scope_counts_every_organization(org, data, settings):
    settings.KAMENG_STATS_SCOPE = "national"
    stats_rebuild()
    html = signed_in(Role.ANALYST, org).get("/analyst/", PERIOD).content.decode()
    counts = own_counts(None, "2025-03-01", "2025-03-05")
    assert "远方卡盟" in html.split('id="overview"')[1]
    assert f"{sum(counts.values())} 件投诉，涉及 3 个平台" in html
    assert "全国" in html


def test_english(org, data):
    client = signed_in(Role.ANALYST, org)
    html = client.get("/analyst/", PERIOD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Complaints per platform (top 2)" in html
    assert "insufficient sample (n=" in html


@pytest.mark.parametrize("params, message", [
    ({"from": "2025-13-01"}, "from"),
    ({"from": "2025-03-05", "to": "2025-03-01"}, "不能晚于"),
    ({"from": "2000-01-01", "to": "2025-01-01"}, "十年"),
    ({"product_type": "bitcoin"}, "bitcoin"),
    ({"interval": "year"}, "year"),
    ({"platform": "abc"}, "platform"),
])
def test_bad_input_is_a_400_with_the_reason_on_the_page(org, params, message):
    response = signed_in(Role.ANALYST, org).get("/analyst/", params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_no_personal_data_on_the_page(org, data):
    _big, _small, _elsewhere, cases = data
    html = signed_in(Role.ANALYST, org).get("/analyst/", PERIOD).content.decode()
    for case in cases:
        for secret in (case.consumer.name, case.consumer.phone, case.reference, case.order_number):
            if secret:
                assert secret not in html


def test_an_empty_period_says_so(org, data):
    html = signed_in(Role.ANALYST, org).get("/analyst/", {"from": "2020-01-01", "to": "2020-01-31"}).content.decode()
    assert "本期间没有投诉" in html


def test_case_of_another_organization_and_a_platform_not_in_the_period(org, data):
    big, *_ = data
    make_case(organization=org, platform=big, created_at=at(2025, 3, 3))
    stats_rebuild()
    counts = own_counts(org.id, "2025-03-01", "2025-03-05")
    html = signed_in(Role.ANALYST, org).get("/analyst/", PERIOD).content.decode()
    assert f"<td>星辰卡盟</td>\n<td>{counts['星辰卡盟']}" in html


def test_a_supervisor_signs_in_with_the_second_factor_here_too(org, settings):
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.KAMENG_ADMIN_OTP_ENFORCED = True
    settings.KAMENG_ADMIN_OTP_EXEMPT_ORGS = []
    user = UserFactory(role=Role.SUPERVISOR, organization=org, is_staff=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    missing = client.post("/analyst/login/", {"username": user.username, "password": PASSWORD},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 200 and "Enter the one-time code" in missing.content.decode()
    assert "_auth_user_id" not in client.session
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    ok = client.post("/analyst/login/", {"username": user.username, "password": PASSWORD,
                                         "otp_token": f"{code:0{device.digits}d}"})
    assert ok.status_code == 302 and ok["Location"] == "/analyst/"
    assert client.get("/analyst/").status_code == 200
    # a session opened without the second factor (force_login) is sent back to the login
    bypass = Client()
    bypass.force_login(user)
    response = bypass.get("/analyst/")
    assert response.status_code == 302 and response["Location"].startswith("/analyst/login/")
    assert "_auth_user_id" not in bypass.session


def test_quarter_presets_keep_the_filters(org, data):
    from django.utils import timezone

    from stats.reports import last_quarter

    html = signed_in(Role.ANALYST, org).get("/analyst/", {**PERIOD, "dispute_type": "delivery_delay"}).content.decode()
    first, last = last_quarter(timezone.localdate())
    label = f"{first.year} Q{(first.month - 1) // 3 + 1}"
    href = f'?from={first}&amp;to={last}&amp;dispute_type=delivery_delay'
    assert f'<a href="{href}">{label}</a>' in html
