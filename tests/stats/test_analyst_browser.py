"""The analysts' page in a real browser (Playwright driving the system Chromium, like tests/test_admin_browser.py):
an analyst signs in, changes the period and the dispute type, and sees the charts' titles, axes, legends and
the note of a withheld rate. Skipped outside CI when Chromium or Playwright is missing."""

import os
from pathlib import Path

import pytest

from cases.codes import Role
from stats.services import stats_rebuild
from tests.factories import PASSWORD, PlatformFactory, UserFactory
from tests.test_admin_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_analyst_reads_the_charts_in_the_browser(browser, live_server, org, populate, settings, tmp_path):  # noqa: F811
    settings.KAMENG_STATS_MIN_SAMPLE = 10
    shots = Path(os.environ.get("KAMENG_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    big, small = PlatformFactory(name="星辰卡盟"), PlatformFactory(name="极速卡盟")
    populate(big, n=40, seed=3)
    populate(small, n=7, seed=4)
    stats_rebuild()
    UserFactory(role=Role.ANALYST, organization=org, username="analyst1", is_staff=False)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/analyst/")
    page.wait_for_url("**/analyst/login/?next=%2Fanalyst%2F")
    page.fill("#id_username", "analyst1")
    page.fill("#id_password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{live_server.url}/analyst/")

    page.fill("#id_from", "2025-03-01")
    page.fill("#id_to", "2025-03-05")
    page.select_option("#id_platform", str(small.id))
    page.click("#apply")
    page.wait_for_selector(".km-chart-title")
    titles = page.locator(".km-chart-title").all_text_contents()
    assert titles[:3] == ["各平台投诉量（前 2 位）", "各平台解决率", "各平台的平台响应率"]
    assert "极速卡盟：各月解决率与平台响应率" in titles
    assert page.locator(".km-axis-x", has_text="月份").count() == 2
    assert page.locator(".km-axis-x, .km-axis-y", has_text="投诉量（件）").count() == 2
    assert page.locator(".km-axis-y", has_text="平台").count() == 3
    assert page.locator(".km-chart-legend", has_text="样本不足：少于 10 件，不计算比率").count() >= 1
    assert page.locator("svg .km-withheld", has_text="样本不足 (n=").count() >= 1  # the bar's place
    assert page.locator(".withheld-notes li", has_text="极速卡盟：样本不足 (n=").count() >= 1
    assert page.locator("#withheld-why").is_visible()
    page.screenshot(path=str(shots / "analyst-charts.png"), full_page=True)

    page.select_option("#id_dispute_type", "delivery_delay")
    page.click("#apply")
    page.wait_for_url("**dispute_type=delivery_delay**")
    assert "超48小时未到账" in page.locator("#overview h2").inner_text()
    assert "dispute_type=delivery_delay" in page.locator("#downloads a").first.get_attribute("href")
    page.screenshot(path=str(shots / "analyst-filtered.png"), full_page=True)
    context.close()
