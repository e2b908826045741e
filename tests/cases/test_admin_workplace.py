"""The case page as a clerk, a handler and a supervisor use it: every move runs the API's service, is offered
only to the roles that may make it, shows all of a form's errors at once in the user's language, and the page
shows what the case needs (completeness, recommendation, clocks, letter, bundle, chain)."""

import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import Case
from cases.services import case_assign, case_create
from escalation.models import Deadline, Escalation
from evidence.bundle import verify_bundle
from evidence.models import Evidence
from kameng_api.core.models import AuditLog
from kameng_api.core.roles import Role
from tests.factories import OrganizationFactory, PlatformFactory, UserFactory
from tests.helpers import PDF, png, staff_login, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def org():
    return OrganizationFactory()


staff = staff_login


@pytest.fixture
def make_case(org):
    platform = PlatformFactory()
    intake = UserFactory(role=Role.INTAKE, organization=org)

    def make(**overrides):
        now = timezone.now()
        data = {
            "platform": platform, "merchant_name": "乐玩数码", "order_number": f"WP-{now.timestamp()}",
            "product_type": "game_card", "amount_paid": Decimal("200.00"), "payment_channel": "alipay",
            "purchased_at": now - timedelta(days=6), "delivered_at": now - timedelta(days=6, minutes=-3),
            "problem_found_at": now - timedelta(days=5), "dispute_type": "invalid_code", "description": "卡密无效",
            "consumer": {"name": "王芳", "phone": "13912345678", "id_number": ""},
            "claims": [{"kind": "refund", "amount": Decimal("200.00")}],
        }
        data.update(overrides)
        return case_create(actor=intake, data=data)

    return make


def actions_on(page) -> set[str]:
    return set(re.findall(r'data-action="([a-z_]+)"', page.content.decode()))


def act(client, case, name, data=None, **extra):
    return client.post(f"/admin/cases/case/{case.pk}/act/{name}/", data or {}, **extra)


def split(moment) -> dict:
    local = timezone.localtime(moment)
    return {"0": local.strftime("%Y-%m-%d"), "1": local.strftime("%H:%M:%S")}


def when(field, moment) -> dict:
    parts = split(moment)
    return {f"{field}_0": parts["0"], f"{field}_1": parts["1"]}


# --- 1. moves ------------------------------------------------------------------------------------------------

def test_the_case_page_offers_only_the_moves_the_role_may_make(org, make_case):
    case = make_case()
    _u, intake = staff(Role.INTAKE, org)
    _u, handler = staff(Role.HANDLER, org)
    _u, supervisor = staff(Role.SUPERVISOR, org)
    assert actions_on(intake.get(f"/admin/cases/case/{case.pk}/change/")) == {"upload"}
    handler_moves = actions_on(handler.get(f"/admin/cases/case/{case.pk}/change/"))
    assert {"upload", "transition", "escalate", "waiting", "clock"} <= handler_moves
    assert "assign" not in handler_moves and "answer" not in handler_moves  # nothing escalated yet
    assert "assign" in actions_on(supervisor.get(f"/admin/cases/case/{case.pk}/change/"))
    assert act(handler, case, "assign", {"assignee": ""}).status_code == 403
    assert act(intake, case, "escalate", {"channel": "merchant"}).status_code == 403


def test_escalating_in_the_admin_shows_every_error_then_runs_the_service(org, make_case):
    case = make_case()
    _u, handler = staff(Role.HANDLER, org)
    empty = act(handler, case, "escalate", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 200
    assert {"channel", "submitted_at"} <= set(empty.context["form"].errors)  # all at once, not one per submit
    future = act(handler, case, "escalate", {"skip_reason": "other",
                                             **when("submitted_at", timezone.now() + timedelta(days=2))},
                 HTTP_ACCEPT_LANGUAGE="en")
    errors = future.context["form"].errors
    assert {"channel", "submitted_at", "skip_note"} <= set(errors) and "future" in str(errors["submitted_at"])
    legal = act(handler, case, "escalate", {"channel": "lawsuit", **when("submitted_at", timezone.now())})
    assert "channel" in legal.context["form"].errors  # the legal level is not a handler's choice
    skipped = act(handler, case, "escalate", {"channel": "12315", **when("submitted_at", timezone.now())},
                  HTTP_ACCEPT_LANGUAGE="en")
    assert skipped.status_code == 200 and "skip_reason" in skipped.context["form"].errors
    assert "level 1" in str(skipped.context["form"].errors["skip_reason"])  # the service's sentence, in English
    chinese = act(handler, case, "escalate", {"channel": "12315", **when("submitted_at", timezone.now())},
                  HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert re.search(r"[\u4e00-\u9fff]", str(chinese.context["form"].errors["skip_reason"]))
    assert not Escalation.objects.filter(case=case).exists()
    done = act(handler, case, "escalate", {"channel": "merchant", "external_reference": "M-1",
                                           **when("submitted_at", timezone.now() - timedelta(hours=1))})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.status == "negotiating" and case.escalations.get().channel == "merchant"
    assert case.deadlines.filter(kind="merchant_answer", status="open").exists()


def test_answer_then_resolve_in_the_admin(org, make_case):
    case = make_case()
    _u, handler = staff(Role.HANDLER, org)
    act(handler, case, "escalate", {"channel": "merchant", **when("submitted_at", timezone.now() - timedelta(hours=5))})
    escalation = case.escalations.get()
    page = handler.get(f"/admin/cases/case/{case.pk}/change/")
    assert "answer" in actions_on(page)
    future = act(handler, case, "answer", {"escalation": escalation.pk, "outcome": "refused",
                                           **when("responded_at", timezone.now() + timedelta(days=2))},
                 HTTP_ACCEPT_LANGUAGE="en")
    assert "future" in str(future.context["form"].errors)
    answered = act(handler, case, "answer", {"escalation": escalation.pk, "outcome": "resolved", "response": "同意退款",
                                             **when("responded_at", timezone.now() - timedelta(hours=1))})
    assert answered.status_code == 302
    assert not Deadline.objects.filter(escalation=escalation, status="open").exists()
    missing = act(handler, case, "resolve", {"amount_recovered": "9999"})
    assert {"outcome", "amount_recovered"} <= set(missing.context["form"].errors)
    resolved = act(handler, case, "resolve", {"outcome": "favourable", "amount_recovered": "200.00",
                                              "consumer_rating": "5"})
    assert resolved.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved" and case.consumer_rating == 5 and case.amount_recovered == Decimal("200.00")
    assert not case.deadlines.filter(status="open").exists()
    assert actions_on(handler.get(f"/admin/cases/case/{case.pk}/change/")) == set()  # closed: nothing to do


def test_clock_extension_needs_amount_and_reason_reported_together(org, make_case):
    case = make_case()
    _u, handler = staff(Role.HANDLER, org)
    deadline = case.deadlines.filter(status="open").first()
    response = act(handler, case, "clock", {"deadline": deadline.pk, "operation": "extend"})
    assert {"extend_by", "reason"} <= set(response.context["form"].errors)
    due = deadline.due_at
    assert act(handler, case, "clock", {"deadline": deadline.pk, "operation": "extend", "extend_by": "2",
                                        "reason": "消费者出差"}).status_code == 302
    deadline.refresh_from_db()
    assert deadline.due_at > due and "消费者出差" in deadline.extension_reason


def test_another_organizations_case_is_not_found_for_every_move(org, make_case):
    case = make_case()
    _u, outsider = staff(Role.SUPERVISOR, OrganizationFactory())
    for name in ("transition", "resolve", "assign", "escalate", "answer", "waiting", "clock", "upload", "supersede",
                 "withdraw"):
        assert outsider.get(f"/admin/cases/case/{case.pk}/act/{name}/").status_code == 404
        assert act(outsider, case, name, {}).status_code == 404
    for suffix in ("letter/", "bundle/", "verify/"):
        assert outsider.get(f"/admin/cases/case/{case.pk}/{suffix}").status_code == 404
    assert outsider.post(f"/admin/cases/case/{case.pk}/consumer/").status_code == 404


# --- 2. evidence ---------------------------------------------------------------------------------------------

def upload_form(files, kind="error_screenshot", **extra):
    data = {"kind": kind, **when("occurred_at", timezone.now() - timedelta(days=4)), "description": "截图"}
    data["file"] = files
    data.update(extra)
    return data


def named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_several_files_go_through_the_streaming_pipeline_and_the_chain(org, make_case):
    case = make_case()
    _u, intake = staff(Role.INTAKE, org)
    first, second = png("one"), png("two")
    response = act(intake, case, "upload", upload_form([named(first, "a.png"), named(second, "b.png"),
                                                        named(zip_bytes(), "c.zip")]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200  # the archive is refused, named, while the two images are kept
    errors = str(response.context["form"].errors["file"])
    assert "c.zip" in errors
    items = list(Evidence.objects.filter(case=case).order_by("sequence"))
    assert [e.original_name for e in items] == ["a.png", "b.png"] and items[1].prev_hash == items[0].entry_hash
    again = act(intake, case, "upload", upload_form([named(first, "again.png")]), HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200 and "again.png" in str(again.context["form"].errors["file"])
    assert Evidence.objects.filter(case=case).count() == 2
    page = intake.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert items[0].sha256 in page and f"/admin/evidence/evidence/{items[0].pk}/preview/" in page
    assert f"/admin/evidence/evidence/{items[0].pk}/file/?download=1" in page


def test_a_file_over_the_limit_is_refused_while_streaming(org, make_case, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1000
    case = make_case()
    _u, intake = staff(Role.INTAKE, org)
    response = act(intake, case, "upload", upload_form([named(png("big") + b"0" * 5000, "big.png")]))
    assert response.status_code == 413 and b"1000" in response.content
    assert not Evidence.objects.filter(case=case).exists()


def test_open_and_download_are_audited_and_scoped(org, make_case):
    case = make_case()
    _u, handler = staff(Role.HANDLER, org)
    act(handler, case, "upload", upload_form([named(PDF + b"%unique\n", "receipt.pdf")], kind="payment_record"))
    item = Evidence.objects.get(case=case)
    opened = handler.get(f"/admin/evidence/evidence/{item.pk}/file/")
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert "attachment" not in opened.get("Content-Disposition", "")
    downloaded = handler.get(f"/admin/evidence/evidence/{item.pk}/file/?download=1")
    assert "attachment" in downloaded["Content-Disposition"]
    assert b"".join(downloaded.streaming_content).startswith(b"%PDF")
    assert AuditLog.objects.filter(action="evidence_download", object_id=str(item.pk)).count() == 2
    _u, outsider = staff(Role.SUPERVISOR, OrganizationFactory())
    assert outsider.get(f"/admin/evidence/evidence/{item.pk}/file/").status_code == 404


def test_supersede_and_withdraw_with_a_reason(org, make_case):
    case = make_case()
    _u, intake = staff(Role.INTAKE, org)
    _u, handler = staff(Role.HANDLER, org)
    act(intake, case, "upload", upload_form([named(png("old"), "old.png")]))
    old = Evidence.objects.get(case=case)
    no_reason = act(intake, case, "supersede", {"supersedes": old.pk, "file": named(png("new"), "new.png"),
                                                "kind": "error_screenshot",
                                                **when("occurred_at", timezone.now() - timedelta(days=4))})
    assert "reason" in no_reason.context["form"].errors
    replaced = act(intake, case, "supersede", {"supersedes": old.pk, "file": named(png("new"), "new.png"),
                                               "kind": "error_screenshot", "reason": "截图不清晰",
                                               **when("occurred_at", timezone.now() - timedelta(days=4))})
    assert replaced.status_code == 302
    old.refresh_from_db()
    assert old.status == "superseded"
    new = Evidence.objects.get(case=case, status="active")
    assert act(intake, case, "withdraw", {"evidence": new.pk, "reason": "x"}).status_code == 403
    assert act(handler, case, "withdraw", {"evidence": new.pk, "reason": "与本案无关"}).status_code == 302
    new.refresh_from_db()
    assert new.status == "withdrawn" and new.withdraw_reason == "与本案无关"


# --- 3. what the case needs ----------------------------------------------------------------------------------

def test_the_case_page_shows_what_the_case_needs(org, make_case, django_assert_max_num_queries):
    case = make_case()
    user, handler = staff(Role.HANDLER, org)
    case_assign(actor=UserFactory(role=Role.SUPERVISOR, organization=org), case=case, assignee_id=user.pk)
    act(handler, case, "upload", upload_form([named(png("x"), "x.png")], kind="order_screenshot"))
    with django_assert_max_num_queries(40):
        page = handler.get(f"/admin/cases/case/{case.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    for part in ('id="km-completeness"', 'id="km-recommendation"', 'id="km-clocks"', 'id="km-evidence"',
                 'id="km-timeline"', 'id="km-chain"', "/ 100", "The chain is intact", "overdue",
                 f"/admin/cases/case/{case.pk}/letter/", f"/admin/cases/case/{case.pk}/bundle/?lang=en"):
        assert part in html, part
    assert "13912345678" not in html  # the consumer stays masked until "show"
    letter = handler.get(f"/admin/cases/case/{case.pk}/letter/", {"channel": "platform", "lang": "zh-hans"})
    assert letter.status_code == 200 and case.order_number in letter.content.decode()
    assert 'id="km-print"' in letter.content.decode()
    assert handler.get(f"/admin/cases/case/{case.pk}/letter/", {"lang": "xx"}).status_code == 400
    verify = handler.get(f"/admin/cases/case/{case.pk}/verify/")
    assert verify.status_code == 200 and verify.context["result"]["intact"]


def test_the_bundle_from_the_admin_verifies(org, make_case, tmp_path):
    case = make_case()
    _u, handler = staff(Role.HANDLER, org)
    act(handler, case, "upload", upload_form([named(png("b"), "b.png")]))
    response = handler.get(f"/admin/cases/case/{case.pk}/bundle/?lang=en")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"".join(response.streaming_content))
    problems, _manifest = verify_bundle(path)
    assert problems == []
    assert "letter.txt" in zipfile.ZipFile(path).namelist()


# --- 4. my work ----------------------------------------------------------------------------------------------

def test_home_lists_my_work_by_urgency(org, make_case):
    mine, other = make_case(), make_case(order_number="UNASSIGNED-1")
    user, handler = staff(Role.HANDLER, org)
    _s, supervisor = staff(Role.SUPERVISOR, org)
    case_assign(actor=UserFactory(role=Role.SUPERVISOR, organization=org), case=mine, assignee_id=user.pk)
    work = handler.get("/admin/").context
    home = handler.get("/admin/").content.decode()
    assert 'id="km-overdue"' in home and mine.reference in home and other.reference not in home
    del work
    supervisor_home = supervisor.get("/admin/").content.decode()
    assert 'id="km-unassigned"' in supervisor_home and other.reference in supervisor_home
    from notifications.models import Alert
    from notifications.services import deadline_alerts_scan

    deadline_alerts_scan()
    alert = Alert.objects.filter(case=mine).first()
    assert alert is not None and 'id="km-alerts"' in handler.get("/admin/").content.decode()
    assert handler.get(f"/admin/notifications/alert/{alert.pk}/ack/").status_code == 405
    _o, outsider = staff(Role.HANDLER, OrganizationFactory())
    assert outsider.post(f"/admin/notifications/alert/{alert.pk}/ack/").status_code == 404
    assert handler.post(f"/admin/notifications/alert/{alert.pk}/ack/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    listing = handler.get("/admin/escalation/deadline/")
    shown = list(listing.context["cl"].result_list)
    assert shown and all(d.status == "open" for d in shown)
    assert [d.due_at for d in shown] == sorted(d.due_at for d in shown)


# --- 5. the consumer -----------------------------------------------------------------------------------------

def test_consumer_contact_after_a_click_that_is_audited_and_search_by_phone(org, make_case):
    case = make_case()
    _u, intake = staff(Role.INTAKE, org)
    assert intake.get(f"/admin/cases/case/{case.pk}/consumer/").status_code == 404  # only by a deliberate POST
    shown = intake.post(f"/admin/cases/case/{case.pk}/consumer/")
    assert shown.status_code == 200 and "13912345678" in shown.content.decode()
    assert AuditLog.objects.filter(action="pii_read").count() == 1
    listing = intake.get("/admin/cases/case/").content.decode()
    assert "13912345678" not in listing and "139****5678" in listing
    found = intake.get("/admin/cases/case/", {"q": "13912345678"})
    assert list(found.context["cl"].result_list) == [case]
    assert AuditLog.objects.filter(action="pii_search").count() == 1
    assert list(intake.get("/admin/cases/case/", {"q": "1391234"}).context["cl"].result_list) == []


# --- 6. / 7. forms, look and language ------------------------------------------------------------------------

def test_intake_form_has_no_silent_defaults_and_pickers(org):
    _u, intake = staff(Role.INTAKE, org)
    form = intake.get("/admin/cases/case/add/").context["adminform"].form
    for name in ("product_type", "payment_channel", "dispute_type"):
        assert form[name].value() in (None, ""), name
        assert form.fields[name].choices[0][0] == ""
    html = intake.get("/admin/cases/case/add/").content.decode()
    assert "admin-autocomplete" in html and "<datalist" in html  # platform and merchant pickers search
    assert "vDateField" in html and "Asia/Shanghai" in html


def test_branding_and_a_language_choice_that_follows_the_user(org):
    user, client = staff(Role.HANDLER, org)
    home = client.get("/admin/").content.decode()
    assert "Django" not in re.search(r"<title>(.*?)</title>", home, re.S).group(1)
    assert org.name in home
    response = client.post("/admin/language/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    elsewhere = Client()  # another browser, no cookie: the user's choice still applies
    elsewhere.force_login(user)
    assert 'lang="en"' in elsewhere.get("/admin/").content.decode()[:400]
    assert client.post("/admin/language/", {"language": "xx"}).status_code == 400
    assert client.get("/admin/language/").status_code == 405


def test_no_red_cross_for_booleans_that_mean_no_problem(org, make_case):
    make_case()
    _u, client = staff(Role.SUPERVISOR, org)
    assert "icon-no.svg" not in client.get("/admin/cases/case/").content.decode()
    assert "icon-no.svg" not in client.get("/admin/cases/platform/").content.decode()


def test_case_model_untouched_by_page_views(org, make_case):
    case = make_case()
    _u, client = staff(Role.SUPERVISOR, org)
    version = case.version
    client.get(f"/admin/cases/case/{case.pk}/change/")
    assert Case.objects.get(pk=case.pk).version == version


def test_registry_and_webhook_edits_in_the_admin_go_through_the_services(org, settings):
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = True
    from cases.models import Merchant
    from notifications.models import WebhookEndpoint

    _u, client = staff(Role.SUPERVISOR, org)
    platform = PlatformFactory()
    response = client.post("/admin/cases/merchant/add/", {"name": "新商家", "platform": platform.pk, "shop_url": ""})
    assert response.status_code == 302
    merchant = Merchant.objects.get(name="新商家")
    assert AuditLog.objects.filter(action="merchant_save", object_id=str(merchant.pk)).exists()
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/a",
                                              events=["case.created"], secret="s" * 32)
    page = client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    refused = client.post(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/", {
        "url": "http://127.0.0.1:8399/hook", "events": '["case.created"]', "description": "", "is_active": "on"})
    assert refused.status_code == 200 and "url" in refused.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/a"
    assert client.post(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/", {
        "url": "ftp://hooks.example.com/b", "events": '["case.created"]', "description": "x"}).status_code == 200
    assert AuditLog.objects.filter(action="webhook_update").count() == 0
