"""API.md "Preconditions": If-Match on every PATCH, idempotent replays with their ETag and Location, strict
query parameters, 405 for methods an endpoint does not have."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases.models import Case
from evidence.models import Evidence
from kameng_api.core.idempotency import idempotency_purge
from kameng_api.core.models import IdempotencyRecord
from tests.factories import CaseFactory, PlatformFactory
from tests.helpers import multipart, payload, png

from .test_hostile_input import assert_error


@pytest.fixture
def case(org, platform):
    return CaseFactory(organization=org, platform=platform)


# --- If-Match ---------------------------------------------------------------------------------------------

def test_case_patch_without_if_match_is_428_and_changes_nothing(handler, case):
    response = handler.patch(f"/api/v1/cases/{case.pk}/", {"description": "改"}, format="json")
    assert_error(response, 428, code="precondition_required")
    case.refresh_from_db()
    assert case.description != "改" and case.version == 1


def test_case_patch_with_a_stale_if_match_is_409_and_a_fresh_one_applies(handler, case):
    etag = handler.get(f"/api/v1/cases/{case.pk}/")["ETag"]
    first = handler.patch(f"/api/v1/cases/{case.pk}/", {"description": "一"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    assert_error(handler.patch(f"/api/v1/cases/{case.pk}/", {"description": "二"}, format="json",
                               HTTP_IF_MATCH=etag), 409, code="stale_if_match")


def test_escalation_patch_without_if_match_is_428(handler, case):
    created = handler.post(f"/api/v1/cases/{case.pk}/escalations/",
                           {"channel": "merchant", "submitted_at": timezone.now().isoformat()}, format="json")
    assert created.status_code == 201, created.content
    response = handler.patch(created["Location"], {"response": "商家称已处理"}, format="json")
    assert_error(response, 428, code="precondition_required")


@pytest.mark.parametrize("kind", ["platform", "webhook"])
def test_every_patchable_resource_has_an_etag_and_needs_if_match(supervisor, partner, kind):
    if kind == "platform":
        client, url = supervisor, f"/api/v1/platforms/{PlatformFactory().pk}/"
        change = {"company_name": "新公司"}
    else:
        client = supervisor
        created = client.post("/api/v1/webhooks/", {"url": "https://hooks.example.cn/k", "events": ["case.created"]},
                              format="json")
        assert created.status_code == 201, created.content
        url, change = f"/api/v1/webhooks/{created.json()['id']}/", {"description": "新的"}
    assert_error(client.patch(url, change, format="json"), 428)
    etag = client.get(url)["ETag"]
    assert client.patch(url, change, format="json", HTTP_IF_MATCH=etag).status_code == 200
    assert_error(client.patch(url, change, format="json", HTTP_IF_MATCH=etag), 409, code="stale_if_match")


@pytest.mark.postgres
def test_twenty_parallel_patches_with_one_etag_apply_once(transactional_db, real_postgres, org, platform,
                                                          user_client):
    case = CaseFactory(organization=org, platform=platform)
    client = user_client()
    etag = client.get(f"/api/v1/cases/{case.pk}/")["ETag"]
    results = []

    def patch(i):
        from rest_framework.test import APIClient

        c = APIClient()
        c.force_authenticate(client.handler._force_user)
        results.append(c.patch(f"/api/v1/cases/{case.pk}/", {"description": f"并发{i}"}, format="json",
                               HTTP_IF_MATCH=etag).status_code)
        connection.close()

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 19
    assert Case.objects.get(pk=case.pk).version == 2


# --- idempotent replays -----------------------------------------------------------------------------------

def test_a_replayed_case_creation_carries_the_first_etag_and_location(partner, platform):
    body = payload(platform)
    first = partner.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = partner.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"] and again["Location"] == first["Location"]
    assert again.json() == first.json()
    assert Case.objects.count() == 1


def test_idempotency_records_hold_no_personal_data(partner, platform):
    partner.post("/api/v1/cases/", payload(platform), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    record = IdempotencyRecord.objects.get()
    stored = str({f.name: getattr(record, f.name) for f in record._meta.fields})
    for secret in ("张三", "13812345678", "11010519491231002X"):
        assert secret not in stored
    assert record.location.startswith("/api/v1/cases/")


def test_idempotency_records_are_purged_after_a_day(partner, platform):
    partner.post("/api/v1/cases/", payload(platform), format="json", HTTP_IDEMPOTENCY_KEY="k-old")
    partner.post("/api/v1/cases/", payload(platform, order_number="NEW1"), format="json",
                 HTTP_IDEMPOTENCY_KEY="k-new")
    IdempotencyRecord.objects.filter(key="k-old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-new"]


def test_an_upload_replay_needs_the_same_bytes_not_only_the_same_name_and_size(partner, org, partner_key):
    case = CaseFactory(organization=org, filed_by_key=partner_key[0])
    when = (case.problem_found_at + timedelta(minutes=3)).isoformat()
    first_bytes, other_bytes = png("a" * 8), png("b" * 8)
    assert len(first_bytes) == len(other_bytes)
    url = f"/api/v1/cases/{case.pk}/evidence/"
    body, ctype = multipart({"kind": "error_screenshot", "occurred_at": when}, ("s.png", first_bytes, "image/png"))
    first = partner.post(url, data=body, content_type=ctype, HTTP_IDEMPOTENCY_KEY="up-1")
    assert first.status_code == 201
    body, ctype = multipart({"kind": "error_screenshot", "occurred_at": when}, ("s.png", other_bytes, "image/png"))
    assert_error(partner.post(url, data=body, content_type=ctype, HTTP_IDEMPOTENCY_KEY="up-1"), 409,
                 code="idempotency_key_reused")
    body, ctype = multipart({"kind": "error_screenshot", "occurred_at": when}, ("s.png", first_bytes, "image/png"))
    again = partner.post(url, data=body, content_type=ctype, HTTP_IDEMPOTENCY_KEY="up-1")
    assert again.status_code == 201 and again["Location"] == first["Location"]
    assert again.json()["sha256"] == first.json()["sha256"]
    assert Evidence.objects.count() == 1


# --- strict query parameters ------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["lang=xx", "lang=", "lang=EN-us"])
def test_bundle_with_an_unknown_language_is_400_like_the_letter(handler, case, query):
    assert_error(handler.get(f"/api/v1/cases/{case.pk}/bundle/?{query}"), 400)
    assert_error(handler.get(f"/api/v1/cases/{case.pk}/letter/?{query}"), 400)


@pytest.mark.parametrize("url", [
    "/api/v1/deadlines/?overdue=maybe", "/api/v1/deadlines/?provisional=2", "/api/v1/platforms/?cross_border=yes",
    "/api/v1/platforms/?has_deposit_scheme=unknown", "/api/v1/alerts/?acknowledged=perhaps",
])
def test_boolean_filters_refuse_anything_but_true_or_false(handler, url):
    assert_error(handler.get(url), 400)


@pytest.mark.parametrize("value", ["true", "false", "True", "0", "1"])
def test_boolean_filters_accept_true_and_false(handler, value):
    assert handler.get(f"/api/v1/deadlines/?overdue={value}").status_code == 200


# --- methods ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url"), [
    ("put", "/api/v1/cases/{id}/"), ("delete", "/api/v1/cases/{id}/"), ("patch", "/api/v1/cases/"),
    ("delete", "/api/v1/platforms/"), ("put", "/api/v1/deadlines/"), ("post", "/api/v1/cases/{id}/letter/"),
    ("delete", "/api/v1/cases/{id}/evidence/"), ("post", "/api/v1/stats/platforms/"),
    ("get", "/api/v1/cases/{id}/transition/"),
])
@pytest.mark.parametrize("role", ["intake", "analyst", "supervisor"])
def test_unsupported_methods_are_405_for_every_role(user_client, case, method, url, role):
    response = getattr(user_client(role), method)(url.format(id=case.pk), {}, format="json")
    assert_error(response, 405, code="method_not_allowed")
