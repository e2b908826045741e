"""The admin in a real browser (Playwright driving the system Chromium, `make browser` installs it): a clerk
registers a complaint with three pieces of evidence; a handler takes it up two rungs, records the answers,
prints the letter, downloads the bundle and resolves it; a supervisor of another organization sees none of
it. Skipped outside CI when Chromium or Playwright is missing; under CI=true that is a failure."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cases.models import Case
from evidence.bundle import verify_bundle
from kameng_api.core.roles import Role
from tests.conftest import require
from tests.factories import PASSWORD, OrganizationFactory, PlatformFactory
from tests.helpers import PDF, png, staff_user

CHROMIUM = os.environ.get("KAMENG_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "the playwright package is not installed (make browser)")
    require(Path(CHROMIUM).exists() or bool(shutil.which("chromium")), "no system Chromium (make browser)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the test reads the database beside Playwright's loop
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                              else shutil.which("chromium"), args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(browser, live_server, username, shots, name):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.screenshot(path=str(shots / f"{name}-home.png"), full_page=True)
    return page


def staff(role, org, username):
    return staff_user(role, org, username=username, email=f"{username}@example.cn")


def local_date(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d")


def act(page, name):
    page.click(f'a[data-action="{name}"]')
    page.wait_for_selector("#km-action-form")


def submit(page):
    page.click('#km-action-form input[type=submit]')
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_a_case_from_intake_to_resolution_in_the_browser(browser, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    shots = Path(os.environ.get("KAMENG_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    org = OrganizationFactory(name="杭州市消费者协会")
    platform = PlatformFactory(name="速购卡盟测试")
    staff(Role.INTAKE, org, "clerk")
    staff(Role.HANDLER, org, "handler1")
    staff(Role.SUPERVISOR, OrganizationFactory(name="邻市消保委"), "outsider")
    now = timezone.now()

    # the clerk registers the complaint
    page = sign_in(browser, live_server, "clerk", shots, "clerk")
    page.goto(f"{live_server.url}/admin/cases/case/add/")
    page.click("#id_platform + .select2 .select2-selection")
    page.fill(".select2-search__field", "速购")
    page.click(f'.select2-results__option:has-text("{platform.name}")')
    page.fill("#id_merchant_name", "乐玩数码")
    page.fill("#id_order_number", "BROWSER-0001")
    page.select_option("#id_product_type", "game_card")
    page.fill("#id_amount_paid", "300.00")
    page.select_option("#id_payment_channel", "wechat")
    for field, moment in (("purchased_at", now - timedelta(days=4)), ("delivered_at", now - timedelta(days=4)),
                          ("problem_found_at", now - timedelta(days=3))):
        page.fill(f"#id_{field}_0", local_date(moment))
        page.fill(f"#id_{field}_1", "10:00:00" if field == "purchased_at" else "11:00:00")
    page.select_option("#id_dispute_type", "invalid_code")
    page.fill("#id_description", "卡密无效，商家不回复")
    page.fill("#id_consumer_name", "王芳")
    page.fill("#id_consumer_phone", "13900002222")
    page.fill("#id_claim_refund", "300.00")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    case = Case.objects.get(order_number="BROWSER-0001")
    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    act(page, "upload")
    page.set_input_files("#id_file", [
        {"name": "order.png", "mimeType": "image/png", "buffer": png("order")},
        {"name": "error.png", "mimeType": "image/png", "buffer": png("error")},
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF + b"%receipt\n"},
    ])
    page.select_option("#id_kind", "error_screenshot")
    page.fill("#id_occurred_at_0", local_date(now - timedelta(days=3)))
    page.fill("#id_occurred_at_1", "12:00")
    submit(page)
    assert page.locator("#km-evidence-table tbody tr").count() == 3
    page.screenshot(path=str(shots / "clerk-case.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # no page wider than the screen

    # the handler takes it up two rungs, records the answers, prints the letter, downloads the bundle, resolves
    page = sign_in(browser, live_server, "handler1", shots, "handler")
    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    for rung, outcome in (("merchant", "refused"), ("platform", "resolved")):
        act(page, "escalate")
        page.select_option("#id_channel", rung)
        page.fill("#id_submitted_at_0", local_date(now - timedelta(days=2 if rung == "merchant" else 1)))
        page.fill("#id_submitted_at_1", "09:00")
        submit(page)
        assert page.locator(".messagelist .success").count() == 1, page.content()[:2000]
        act(page, "answer")
        page.fill("#id_response", "不同意" if outcome == "refused" else "平台已退款")
        page.fill("#id_responded_at_0", local_date(now - timedelta(days=2 if rung == "merchant" else 1)))
        page.fill("#id_responded_at_1", "18:00")
        page.select_option("#id_outcome", outcome)
        submit(page)
        assert page.locator(".messagelist .success").count() == 1, page.content()[:2000]
    case.refresh_from_db()
    assert case.status == "platform_review" and case.escalations.count() == 2
    with page.context.expect_page() as letter_page:
        page.click("#km-letter-form button[type=submit]")
    letter = letter_page.value
    letter.wait_for_load_state()
    assert "BROWSER-0001" in letter.inner_text("#km-letter")
    assert letter.is_visible("#km-print")
    letter.emulate_media(media="print")
    assert not letter.is_visible("#km-print")  # the print shows the letter only
    letter.screenshot(path=str(shots / "letter.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#km-bundle-en")
    bundle = tmp_path / "bundle.zip"
    download.value.save_as(bundle)
    assert verify_bundle(bundle)[0] == []
    act(page, "resolve")
    submit(page)  # nothing chosen: every missing answer is shown at once
    assert page.locator(".errorlist").count() >= 1
    page.select_option("#id_outcome", "favourable")
    page.fill("#id_amount_recovered", "300.00")
    page.select_option("#id_consumer_rating", "5")
    submit(page)
    case.refresh_from_db()
    assert case.status == "resolved" and case.consumer_rating == 5
    page.screenshot(path=str(shots / "handler-resolved.png"), full_page=True)

    # a supervisor of another organization sees none of it
    page = sign_in(browser, live_server, "outsider", shots, "outsider")
    page.goto(f"{live_server.url}/admin/cases/case/")
    assert case.reference not in page.content()
    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    assert case.reference not in page.inner_text("#content")
    response = page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/letter/")
    assert response.status == 404
