"""Every URL of the API and of the admin, read from the URL resolver, tried by every role against its own
organization's objects and another organization's: anonymous → 401 (API) or the login page (admin), a
role the access table does not allow → 403, another organization's object → 404 (the admin may also
answer "not found" by sending staff back to its index), the own object → not refused, never a 5xx.

What a role may do comes from the one table (`kameng_api/core/access.py`): the API views' `roles` and the
admin pages' `access` must be rows of it. A URL this test cannot place (no object to put in it, no rule)
fails the test, so a new page cannot slip past it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from cases.admin import workplace
from cases.roles import sync_role_group
from cases.services import api_key_create, case_create
from escalation.services import escalation_submit
from evidence.services import evidence_add
from evidence.uploads import upload_from_bytes
from kameng_api.core.access import ACCESS, roles_for
from kameng_api.core.actors import PartnerPrincipal
from kameng_api.core.admin import AccessAdminMixin, organization_lookup
from kameng_api.core.permissions import required_roles
from kameng_api.core.roles import PARTNER, Role
from notifications.models import WebhookEndpoint
from notifications.services import deadline_alerts_scan
from procedure.services import acceptance_decide, public_interest_open, session_record
from stats.api.permissions import CanReadStats
from tests.factories import OrganizationFactory, PlatformFactory, UserFactory
from tests.helpers import png

pytestmark = pytest.mark.django_db

ROLES = [Role.INTAKE, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST, PARTNER, None]
STAFF_ROLES = {Role.INTAKE, Role.HANDLER, Role.SUPERVISOR}

# URLs that have nothing to do with a role: the door itself and Django's own pages.
OPEN_API = {"auth-token"}
OPEN_ADMIN = {"login", "logout", "password_change", "password_change_done", "jsi18n", "km_language",
              "view_on_site", "app_list", "autocomplete", "index"}
# Models of libraries, administered by operators (superusers) only.
# URL names whose own object may legitimately be "not there yet" (404 with a reason).
NOT_YET = {"evidence-timestamp"}
OPERATOR_ONLY = {"auth.group", "authtoken.tokenproxy", "knox.authtoken", "axes.accessattempt", "axes.accessfailurelog",
                 "axes.accesslog", "otp_totp.totpdevice"}
ADMIN_VIEWS = {"changelist": "view", "add": "add", "history": "view", "delete": "delete", "change": "view"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def concrete(route: str, values: dict) -> str:
    """The route with its parameters filled in (Django path converters and DRF regex groups alike)."""
    route = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")

    def fill(match):
        return str(values[match.group("name")])

    route = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", fill, route)
    route = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, route)
    return "/" + route


def world(org, platform, tag):
    """One organization's objects, made through the services: a case filed by a partner key (so partners
    reach it too), with evidence, an escalation, open clocks, an alert; a webhook; staff of every role."""
    org.kind, org.level = "consumer_association", "province"
    org.save(update_fields=["kind", "level"])
    intake = UserFactory(role=Role.INTAKE, organization=org)
    key, raw = api_key_create(organization=org, name=f"app {tag}")
    filer = PartnerPrincipal(key)
    now = timezone.now()
    case = case_create(actor=filer, data={
        "platform": platform, "merchant_name": f"店铺{tag}", "order_number": f"ACCESS-{tag}",
        "product_type": "game_card", "amount_paid": Decimal("100.00"), "payment_channel": "alipay",
        "purchased_at": now - timedelta(days=5), "delivered_at": now - timedelta(days=5, minutes=-5),
        "problem_found_at": now - timedelta(days=4), "dispute_type": "invalid_code", "description": "卡密无效",
        "consumer": {"name": f"消费者{tag}", "phone": "13800001111"},
        "claims": [{"kind": "refund", "amount": Decimal("100.00")}],
    })
    evidence = evidence_add(actor=intake, case=case, upload=upload_from_bytes(png(tag), "shot.png"),
                            kind="order_screenshot", occurred_at=now - timedelta(days=5))
    handler = UserFactory(role=Role.HANDLER, organization=org)
    escalation = escalation_submit(actor=handler, case=case, channel="merchant", submitted_at=now - timedelta(days=3))
    deadline_alerts_scan(now=now)
    webhook = WebhookEndpoint.objects.create(organization=org, url=f"https://hooks.example.com/{tag}",
                                             events=["case.created"], secret="s" * 32, created_by_key=key)
    supervisor = UserFactory(role=Role.SUPERVISOR, organization=org)
    procedure = acceptance_decide(actor=handler, case=case, decision="accept")
    session = session_record(actor=handler, case=case, data={"held_at": timezone.now()})
    file = public_interest_open(actor=supervisor, title=f"file {tag}", respondent="公司", conduct="行为")
    return {"case": case, "evidence": evidence, "escalation": escalation, "webhook": webhook,
            "procedure": procedure, "session": session, "issueddocument": case.issued_documents.first(),
            "publicinterestfile": file,
            "deadline": case.deadlines.first(), "alert": case.alerts.first(), "apikey": key,
            "auditlog": None, "raw_key": raw}


@pytest.fixture
def orgs(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    platform = PlatformFactory()
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    own, other = world(mine, platform, "A"), world(theirs, platform, "B")
    from kameng_api.core.models import AuditLog

    for data, org in ((own, mine), (other, theirs)):
        data["auditlog"] = AuditLog.objects.filter(organization=org).first()
        data["organization"] = org
        data["platform"] = platform
    return own, other


def client_for(role, data):
    if role is None:
        return APIClient(), Client()
    if role == PARTNER:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {data['raw_key']}")
        return api, Client()
    user = UserFactory(role=role, organization=data["organization"], is_staff=role != Role.ANALYST)
    sync_role_group(user)
    api = APIClient()
    api.force_authenticate(user)
    web = Client()
    web.force_login(user)
    return api, web


# --- the API -------------------------------------------------------------------------------------------------

METHOD_ORDER = {"get": 0, "post": 1, "patch": 1, "put": 1, "delete": 2}
API_OBJECT = {"case": "case", "evidence": "evidence", "escalation": "escalation", "deadline": "deadline",
              "alert": "alert", "webhook": "webhook", "platform": "platform", "merchant": None,
              "mass-incident": None, "stats-platform": "platform", "stats-report": None,
              "stats-report-file": None}


def api_routes():
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/"):
            yield route, pattern


def api_allowed(view_cls, action, method, role) -> bool:
    if CanReadStats in getattr(view_cls, "permission_classes", []):
        return role in roles_for("stats.read") and role != PARTNER  # the test's key has no stats grant
    view = view_cls()
    view.action = action
    request = type("R", (), {"method": method.upper()})()
    allowed = required_roles(view, request)
    assert allowed in ACCESS.values(), f"{view_cls.__name__}.{action or method}: roles not from the access table"
    return role in allowed


def api_cases():
    for route, pattern in api_routes():
        callback = pattern.callback
        if pattern.name in OPEN_API:
            continue
        view_cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        actions = getattr(callback, "actions", None) or {
            m: None for m in ("get", "post", "patch", "delete") if hasattr(view_cls, m)}
        params = set(pattern.pattern.regex.groupindex)
        yield route, pattern.name, view_cls, actions, params


def api_url(route, name, params, data):
    values = {"format": "json"}
    if "case_id" in params:
        values["case_id"] = data["case"].pk
    if "kind" in params:
        values["kind"] = "complaint_platform"
    for param, what in (("session_id", "session"), ("document_id", "issueddocument"), ("file_id", "publicinterestfile")):
        if param in params:
            values[param] = data[what].pk
    if "pk" in params:
        stem = name.rsplit("-", 1)[0]
        what = API_OBJECT.get(stem, "missing")
        if what == "missing":
            pytest.fail(f"no object for {name} ({route}): add it to API_OBJECT")
        if what is None:
            return None
        values["pk"] = data[what].pk
    return concrete(route, values)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_api_url_for_every_role(orgs, role):
    own, other = orgs
    api, _web = client_for(role, own)
    tried = 0
    calls = [(route, name, view_cls, method, action, params) for route, name, view_cls, actions, params in api_cases()
             for method, action in list(actions.items()) if method not in ("head", "options")]
    calls.sort(key=lambda call: METHOD_ORDER[call[3]])  # deletions last, so later URLs still find the object
    for route, name, view_cls, method, action, params in calls:
        for data, is_own in ((own, True), (other, False)):
            url = api_url(route, name, params, data)
            if url is None or (not is_own and not params - {"format"}):
                continue
            shared = "pk" in params and API_OBJECT.get(name.rsplit("-", 1)[0]) == "platform"
            if shared and not is_own:
                continue
            # PATCH sends If-Match: * (a PATCH without it is a 428 before any lookup, for every role)
            extra = {"HTTP_IF_MATCH": "*"} if method == "patch" else {}
            response = getattr(api, method)(url, {}, format="json", **extra) if method != "get" else api.get(url)
            tried += 1
            where = f"{role} {method.upper()} {url} ({'own' if is_own else 'other'})"
            assert response.status_code < 500, where
            if role is None:
                assert response.status_code == 401, where
            elif not api_allowed(view_cls, action, method, role):
                assert response.status_code == 403, where
            elif not is_own:
                assert response.status_code == 404, where
            elif name in NOT_YET:
                # a resource that exists only later (a timestamp token before the TSA answered): 200 or a 404
                # that says so, never 401/403
                assert response.status_code in (200, 404), (where, response.content[:300])
            else:
                assert response.status_code not in (401, 403, 404), (where, response.content[:300])
                if method == "get" and response.get("Content-Type", "").startswith("application/json"):
                    body = response.content.decode()
                    assert other["case"].reference not in body, f"{where} shows another organization's case"
    assert tried > 60


# --- the admin -----------------------------------------------------------------------------------------------

def admin_routes():
    registry = {f"{m._meta.app_label}_{m._meta.model_name}": (m, ma) for m, ma in admin.site._registry.items()}
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    registry["auth_user"] = (user_model, admin.site._registry[user_model])  # UserAdmin's own URL names
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("admin/") or pattern.name is None or pattern.name in OPEN_ADMIN:
            continue
        params = set(pattern.pattern.regex.groupindex)
        model_admin, view = None, None
        for key, (_model, candidate) in registry.items():
            if pattern.name.startswith(key + "_"):
                model_admin, view = candidate, pattern.name[len(key) + 1:]
        assert model_admin is not None, f"admin URL {pattern.name} ({route}) belongs to no registered model"
        yield route, pattern.name, model_admin, view, params


def admin_allowed(model_admin, view, role, action=None) -> bool | None:
    label = model_admin.model._meta.label_lower
    if label in OPERATOR_ONLY:
        return False
    assert isinstance(model_admin, AccessAdminMixin), f"{label}: admin pages must read the access table"
    if action is not None:
        return role in roles_for(action)
    what = ADMIN_VIEWS.get(view, "view")
    names = [model_admin.access.get(what)] + ([model_admin.access.get("change")] if what == "view" else [])
    names = [n for n in names if n]
    for name in names:
        assert name in ACCESS, f"{label}: {name} is not in the access table"
    if what == "add" and type(model_admin).has_add_permission is not AccessAdminMixin.has_add_permission:
        return None  # the page decides more than the role (read-only rows): only "not for a wrong role"
    if what == "delete" and type(model_admin).has_delete_permission is not AccessAdminMixin.has_delete_permission:
        return None
    return any(role in roles_for(n) for n in names)


def admin_object(model_admin, data):
    name = model_admin.model._meta.model_name
    if name == "user":
        return data["case"].created_by or data["escalation"].created_by
    return data.get(name)


def admin_requests(route, name, model_admin, view, params, data):
    """(url, method, action of the table or None) for one admin URL and one organization's objects."""
    values = {}
    if params & {"object_id", "pk", "id"}:
        obj = admin_object(model_admin, data)
        if obj is None:
            return []
        values["object_id"] = values["pk"] = values["id"] = obj.pk
    if "document_id" in params:
        values["document_id"] = data["issueddocument"].pk
    if view == "act":
        return [(concrete(route, {**values, "name": action_name}), method, action.access)
                for action_name, action in workplace.actions.items() for method in ("get", "post")]
    if view == "consumer":
        return [(concrete(route, values), "post", "consumer.read")]
    if view == "ack":
        return [(concrete(route, values), "post", "alert.read")]
    return [(concrete(route, values), "get", None)]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_admin_url_for_every_role(orgs, role):
    own, other = orgs
    _api, web = client_for(role, own)
    tried = 0
    for route, name, model_admin, view, params in admin_routes():
        for data, is_own in ((own, True), (other, False)):
            if not is_own and (not params or organization_lookup(model_admin.model) is None):
                continue  # a list, or the shared registry (platforms, merchants): no "other organization"
            for url, method, action in admin_requests(route, name, model_admin, view, params, data):
                response = getattr(web, method)(url, {}) if method == "post" else web.get(url)
                tried += 1
                where = f"{role} {method.upper()} {url} ({'own' if is_own else 'other'})"
                assert response.status_code < 500, where
                if role in (None, PARTNER, Role.ANALYST) and role not in STAFF_ROLES:
                    # no admin at all: not signed in, a key, or a role without is_staff
                    assert response.status_code == 302 and "/admin/login/" in response["Location"], where
                    continue
                allowed = admin_allowed(model_admin, view, role, action)
                not_found = response.status_code == 404 or (
                    response.status_code == 302 and response["Location"].rstrip("/") == "/admin")
                if allowed is False:
                    # refused; for another organization's object "not found" comes first (nothing confirmed)
                    assert response.status_code == 403 or (not is_own and not_found), where
                elif not is_own and allowed:
                    assert not_found, where
                elif allowed:
                    assert response.status_code in (200, 302), where
                    if response.status_code == 302:
                        assert "/admin/login/" not in response["Location"], where
                    if method == "get" and response.status_code == 200 and "html" in response.get("Content-Type", ""):
                        body = response.content.decode()
                        assert other["case"].reference not in body, f"{where} shows another organization's case"
                else:
                    assert response.status_code in (200, 302, 403), where
    assert tried > 100


def test_admin_dropdowns_and_filters_offer_only_the_own_organization(orgs):
    """The audit's holes: the API key form listed every organization; the assignee filter listed other
    organizations' staff."""
    own, other = orgs
    _api, web = client_for(Role.SUPERVISOR, own)
    outsider = UserFactory(role=Role.HANDLER, organization=other["organization"], username="outsider-handler")
    page = web.get("/admin/cases/apikey/add/")
    assert page.status_code == 200 and "organization" not in page.context["adminform"].form.fields
    response = web.post("/admin/cases/apikey/add/", {"name": "小程序", "organization": other["organization"].pk})
    assert response.status_code == 302
    from cases.models import ApiKey

    created = ApiKey.objects.get(name="小程序")
    assert created.organization == own["organization"]
    changelist = web.get("/admin/cases/case/").content.decode()
    assert outsider.username not in changelist
    charts_for_intake = client_for(Role.INTAKE, own)[1].get("/admin/stats/dailystat/")
    assert charts_for_intake.status_code == 403
    assert client_for(Role.SUPERVISOR, own)[1].get("/admin/stats/dailystat/").status_code == 200


def test_waiting_box_in_the_admin_stops_the_clocks_like_the_api(orgs):
    """The admin's "waiting on the consumer" move runs the API's service: every open clock stops."""
    own, _other = orgs
    _api, web = client_for(Role.HANDLER, own)
    case = own["case"]
    assert case.deadlines.filter(status="open", suspended_at__isnull=True).exists()
    response = web.post(f"/admin/cases/case/{case.pk}/act/waiting/", {"note": "等材料"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.waiting_on_consumer
    assert not case.deadlines.filter(status="open", suspended_at__isnull=True).exists()
