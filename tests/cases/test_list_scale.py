"""Lists at scale: constant query counts, keyset (cursor) paging, the bounded count, every filter, and
list output identical to DRF's generic rendering."""

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from cases.models import Case, Claim, Merchant
from escalation.models import Deadline
from kameng_api.core import pagination
from kameng_api.core.representation import CompiledRepresentation
from notifications.models import Alert
from tests.factories import CaseFactory, PlatformFactory
from tests.helpers import assert_error

URL = "/api/v1/cases/"
PLATFORM_FIELDS = {"status": "status", "dispute_type": "dispute_type", "product_type": "product_type"}


def clone_cases(template: Case, n: int, *, start=None, step=timedelta(minutes=1), tie_every=0) -> list[Case]:
    """`n` more cases like `template` (its consumer, merchant and a claim each), created at distinct
    times going back from `start`; with `tie_every`, groups of that many share one time (ties)."""
    start = start or template.created_at
    rows = []
    for i in range(n):
        slot = i // tie_every if tie_every else i
        rows.append(Case(
            organization_id=template.organization_id, reference=f"KM-2025-{i + 1:06d}",
            platform_id=template.platform_id, merchant_id=template.merchant_id, consumer_id=template.consumer_id,
            order_number=f"BULK{i:07d}", product_type=template.product_type, amount_paid=template.amount_paid,
            payment_channel=template.payment_channel, purchased_at=template.purchased_at,
            delivered_at=template.delivered_at, problem_found_at=template.problem_found_at,
            dispute_type=template.dispute_type, status=template.status,
        ))
    created = Case.objects.bulk_create(rows)
    for i, case in enumerate(created):
        slot = i // tie_every if tie_every else i
        case.created_at = start - step * (slot + 1)
    Case.objects.bulk_update(created, ["created_at"])
    Claim.objects.bulk_create([Claim(case=c, kind="refund", amount=c.amount_paid) for c in created])
    return created


def follow(client, url, params=None, link="next", limit=500):
    """Every page of a list by its links; returns the ids in order and the number of pages."""
    ids, pages = [], 0
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        pages += 1
        assert pages < limit
        if not body[link]:
            return ids, pages
        response = client.get(body[link])


@pytest.fixture
def many_cases(org, platform):
    template = CaseFactory(organization=org, platform=platform, merchant=Merchant.objects.create(
        platform=platform, name="某卡店"))
    return [template, *clone_cases(template, 1000)]


def queries(client, url, params) -> int:
    """Queries of one request, with no count estimate kept from an earlier one (the cold cost)."""
    pagination._estimates.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("size,page", [(1, 1000), (10, 1), (10, 100), (50, 1), (50, 20), (200, 1), (200, 5)])
def test_case_list_query_count_does_not_grow_with_page_size_or_depth(handler, many_cases, size, page):
    baseline = queries(handler, URL, {"page_size": 1, "page": 1})
    assert queries(handler, URL, {"page_size": size, "page": page}) == baseline


def test_case_list_query_count_is_the_same_by_cursor_deep_or_not(handler, many_cases):
    first = handler.get(URL, {"cursor": "", "page_size": 10}).json()
    deep_cursor = None
    url = first["next"]
    for _ in range(50):
        body = handler.get(url).json()
        url = body["next"]
        deep_cursor = parse_qs(urlparse(url).query)["cursor"][0]
    assert queries(handler, URL, {"cursor": "", "page_size": 10}) == queries(
        handler, URL, {"cursor": deep_cursor, "page_size": 200})


def test_deep_page_holds_the_rows_of_that_position(handler, many_cases):
    everything = list(Case.objects.order_by("-created_at", "-id").values_list("id", flat=True))
    body = handler.get(URL, {"page_size": 10, "page": 87}).json()
    assert [r["id"] for r in body["results"]] == everything[860:870]
    assert "page=88" in body["next"] and "page=86" in body["previous"]


def test_cursor_walk_returns_every_case_once_while_cases_are_added(handler, intake, org, platform):
    template = CaseFactory(organization=org, platform=platform)
    existing = [template, *clone_cases(template, 40, tie_every=3)]  # groups of three share created_at
    expected = list(Case.objects.order_by("-created_at", "-id").values_list("id", flat=True))
    seen = []
    response = handler.get(URL, {"cursor": "", "page_size": 7})
    n = 0
    while True:
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        # a new complaint arrives between two pages, and an old one is edited
        n += 1
        CaseFactory(organization=org, platform=platform, order_number=f"NEW-{n}")
        if not body["next"]:
            break
        response = handler.get(body["next"])
    assert seen == expected  # same order, no duplicate, no gap; the new cases are newer than the walk
    assert len(set(seen)) == len(existing)


def test_cursor_previous_links_walk_back_over_the_same_pages(handler, many_cases):
    forward, pages = follow(handler, URL, {"cursor": "", "page_size": 60})
    assert pages == 17 and len(forward) == 1001 and len(set(forward)) == 1001
    # from the last page back to the first
    body = handler.get(URL, {"cursor": "", "page_size": 60}).json()
    while body["next"]:
        last = body
        body = handler.get(body["next"]).json()
    backward = [row["id"] for row in body["results"]]
    while body["previous"]:
        body = handler.get(body["previous"]).json()
        backward = [row["id"] for row in body["results"]] + backward
    assert backward == forward
    assert last["previous"]


def test_first_cursor_page_has_no_previous_and_counts(handler, many_cases):
    body = handler.get(URL, {"cursor": ""}).json()
    assert body["previous"] is None and body["next"] and len(body["results"]) == 25
    assert body["count"] >= 1001 - 1 and isinstance(body["count_exact"], bool)


@pytest.mark.parametrize("cursor", [
    "garbage!", base64.urlsafe_b64encode(b"not json").decode(),
    base64.urlsafe_b64encode(json.dumps({"v": ["2026-01-01T00:00:00+00:00"]}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"v": ["yesterday", "12"]}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"v": [1, 2]}).encode()).decode(),
])
def test_a_bad_cursor_is_a_400_naming_it(handler, org, cursor):
    CaseFactory(organization=org)
    assert_error(handler.get(URL, {"cursor": cursor}), 400, attr="cursor")


def test_a_list_whose_order_cannot_be_keyed_refuses_a_cursor(handler, platform):
    assert_error(handler.get("/api/v1/merchants/", {"cursor": ""}), 400, attr="cursor")


def test_numbered_pages_keep_working(handler, org):
    for _ in range(5):
        CaseFactory(organization=org)
    body = handler.get(URL, {"page_size": 2, "page": 2}).json()
    assert body["count"] == 5 and body["count_exact"] is True and len(body["results"]) == 2
    assert "page=3" in body["next"] and "page=" not in body["previous"]
    assert handler.get(URL, {"page_size": 2, "page": 3}).json()["next"] is None
    assert handler.get(URL, {"page_size": 2, "page": 4}).status_code == 404
    assert handler.get(URL, {"page": "x"}).status_code == 404
    huge = handler.get(URL, {"page": "78716064548984346116096"})  # past what OFFSET can hold: not a 500
    assert huge.status_code == 404 and huge.json()["errors"][0]["code"] == "not_found"


def test_count_is_exact_up_to_the_bound_and_says_so_above_it(handler, org):
    template = CaseFactory(organization=org)
    clone_cases(template, 7)
    with override_settings(KAMENG_LIST_COUNT_EXACT_UP_TO=8):
        body = handler.get(URL).json()
        assert (body["count"], body["count_exact"]) == (8, True)
        assert handler.get(URL, {"status": "intake", "page_size": 3}).json()["count"] == 8
    with override_settings(KAMENG_LIST_COUNT_EXACT_UP_TO=5):
        pagination._estimates.clear()
        body = handler.get(URL).json()
        if connection.vendor == "postgresql":
            assert body["count_exact"] is False and body["count"] >= 6  # the planner's estimate, never below
        else:
            assert (body["count"], body["count_exact"]) == (8, False)  # SQLite: a full count, kept a while
        # filtered lists count only their rows
        assert handler.get(URL, {"status": "legal"}).json()["count"] == 0


def test_a_list_known_to_be_above_the_bound_is_not_counted_again_while_its_estimate_is_kept(handler, org,
                                                                                             monkeypatch):
    """Once a request found more rows than the bound, the estimate is kept (KAMENG_LIST_COUNT_ESTIMATE_TTL)
    and the next pages of that list are read without the bounded count; when it expires they count again."""
    clone_cases(CaseFactory(organization=org), 9)
    counted = []
    real = pagination.bounded_count_sql
    monkeypatch.setattr(pagination, "bounded_count_sql", lambda *a, **k: counted.append(1) or real(*a, **k))

    def page(params):
        counted.clear()
        body = handler.get(URL, params).json()
        return body, len(counted)

    with override_settings(KAMENG_LIST_COUNT_EXACT_UP_TO=5):
        first, times = page({"page_size": 3})
        assert times == 1 and first["count_exact"] is False and first["count"] >= 6
        newest_first = list(Case.objects.filter(organization=org).order_by("-created_at", "-id")
                            .values_list("id", flat=True))
        for params, rows in (({"page_size": 3}, newest_first[:3]), ({"page_size": 3, "page": 2}, newest_first[3:6]),
                             ({"page_size": 3, "page": 4}, newest_first[9:]),
                             ({"cursor": "", "page_size": 3}, newest_first[:3])):
            body, times = page(params)
            assert times == 0, params  # no bounded count: the kept estimate answers
            assert body["count_exact"] is False and body["count"] == first["count"]
            assert [r["id"] for r in body["results"]] == rows, params
        if connection.vendor == "postgresql":  # a deep page still walks ids only, then reads its rows by id
            with connection.cursor() as cursor:
                cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%%OFFSET%%'")
                deep = [row[0] for row in cursor.fetchall()]
            assert deep and all(" IN (SELECT " in statement for statement in deep)
        # another filter is another list: counted on its own, exactly when under the bound
        legal, times = page({"status": "legal"})
        assert times == 1 and (legal["count"], legal["count_exact"]) == (0, True)
    with override_settings(KAMENG_LIST_COUNT_EXACT_UP_TO=5, KAMENG_LIST_COUNT_ESTIMATE_TTL=0):
        pagination._estimates.clear()
        page({"page_size": 3})
        assert page({"page_size": 3})[1] == 1  # nothing kept: every request counts
    with override_settings(KAMENG_LIST_COUNT_EXACT_UP_TO=50):
        body, times = page({"page_size": 3})  # the kept estimate is under this bound: counted, exact
        assert times == 1 and (body["count"], body["count_exact"]) == (10, True)


def test_count_of_another_organization_is_not_seen(handler, org, other_org):
    CaseFactory(organization=other_org)
    CaseFactory(organization=org)
    assert handler.get(URL).json()["count"] == 1
    assert handler.get(URL, {"cursor": ""}).json()["count"] == 1


def test_every_filter_matches_exactly_the_rows_it_names(handler, make_user, org):
    p1, p2 = PlatformFactory(), PlatformFactory()
    someone = make_user()
    now = timezone.now()
    cases = [
        CaseFactory(organization=org, platform=p1, status="negotiating", dispute_type="fraud",
                    product_type="game_card", order_number="JD-77821-A"),
        CaseFactory(organization=org, platform=p2, status="negotiating", dispute_type="invalid_code",
                    product_type="membership", assignee=someone, order_number="TB-99-km-2026"),
        CaseFactory(organization=org, platform=p2, status="legal", dispute_type="fraud",
                    product_type="game_card", order_number="PDD-1"),
    ]
    Case.objects.filter(pk=cases[0].pk).update(created_at=now - timedelta(days=10))
    for case in cases:
        case.refresh_from_db()

    def ids(params, **extra):
        by_page = {r["id"] for r in handler.get(URL, {**params, "page_size": 200}).json()["results"]}
        walked, _ = follow(handler, URL, {**params, "cursor": "", "page_size": 1})
        assert set(walked) == by_page and len(walked) == len(by_page)
        return by_page

    def expect(predicate):
        return {c.pk for c in cases if predicate(c)}

    assert ids({"status": "negotiating"}) == expect(lambda c: c.status == "negotiating")
    assert ids({"status": ["negotiating", "legal"]}) == expect(lambda c: True)
    assert ids({"platform": p2.pk}) == expect(lambda c: c.platform_id == p2.pk)
    assert ids({"dispute_type": "fraud"}) == expect(lambda c: c.dispute_type == "fraud")
    assert ids({"product_type": "membership"}) == expect(lambda c: c.product_type == "membership")
    assert ids({"assignee": someone.pk}) == expect(lambda c: c.assignee_id == someone.pk)
    middle = (now - timedelta(days=5)).isoformat()
    assert ids({"created_after": middle}) == expect(lambda c: c.created_at >= now - timedelta(days=5))
    assert ids({"created_before": middle}) == expect(lambda c: c.created_at < now - timedelta(days=5))
    assert ids({"status": "negotiating", "platform": p2.pk}) == {cases[1].pk}
    # search: reference (whole, prefix, lower case, a middle piece) or order number (contains)
    assert ids({"search": cases[2].reference}) == {cases[2].pk}
    assert ids({"search": cases[2].reference.lower()}) == {cases[2].pk}
    assert ids({"search": "KM-"}) == expect(lambda c: True)
    assert ids({"search": cases[0].reference[3:]}) == {cases[0].pk}
    assert ids({"search": "77821"}) == {cases[0].pk}
    assert ids({"search": "pdd"}) == {cases[2].pk}
    # "km-2026" begins a reference, and sits inside an order number: both are found
    assert ids({"search": "km-2026"}) == expect(lambda c: c.reference.startswith("KM-2026"))
    assert cases[1].pk in ids({"search": "-km-2026"})


def test_partner_key_lists_only_partner_filed_cases_by_cursor_too(partner, partner_key, org):
    filed = CaseFactory(organization=org, filed_by_key=partner_key[0])
    CaseFactory(organization=org)
    walked, _ = follow(partner, URL, {"cursor": "", "page_size": 1})
    assert walked == [filed.pk]
    assert partner.get(URL).json()["count"] == 1


def _generic(monkeypatch):
    """Render with DRF's own loop instead of the compiled plan."""
    monkeypatch.setattr(CompiledRepresentation, "to_representation", serializers.Serializer.to_representation)


def test_case_list_output_is_what_drf_renders(handler, make_user, org, monkeypatch):
    someone = make_user()
    claimed = CaseFactory(organization=org, assignee=someone, delivered_at=None, face_value="12.50",
                description="卡密已被使用", claims=[{"kind": "refund", "amount": "10.00"},
                                                 {"kind": "compensation", "amount": None}])
    CaseFactory(organization=org, status="resolved", outcome="favourable", amount_recovered="3.30",
                closed_at=timezone.now())
    compiled = handler.get(URL).json()
    detail = handler.get(f"{URL}{compiled['results'][0]['id']}/").json()
    _generic(monkeypatch)
    assert handler.get(URL).json() == compiled
    assert handler.get(f"{URL}{compiled['results'][0]['id']}/").json() == detail
    assert compiled["results"][1]["consumer"]["name"].endswith("*")
    # the list's claims come from its own statement; the detail's from the claim rows: the same
    row = next(r for r in compiled["results"] if r["id"] == claimed.pk)
    assert row["claims"] == handler.get(f"{URL}{claimed.pk}/").json()["claims"] == [
        {"kind": "refund", "amount": "10.00", "unreasonable": False},
        {"kind": "compensation", "amount": None, "unreasonable": False}]
    deep = handler.get(URL, {"page_size": 1, "page": 2}).json()["results"][0]
    assert deep["claims"] == handler.get(f"{URL}{deep['id']}/").json()["claims"]


def test_deadline_and_alert_lists_render_as_drf_does(handler, org, monkeypatch):
    case = CaseFactory(organization=org)
    now = timezone.now()
    deadline = Deadline.objects.create(case=case, kind="platform_answer", starts_at=now - timedelta(days=3),
                                       due_at=now - timedelta(hours=1), working_days=3)
    Deadline.objects.create(case=case, kind="merchant_answer", starts_at=now, due_at=now + timedelta(days=2),
                            hours=48)
    Alert.objects.create(organization=org, case=case, deadline=deadline, kind="overdue", due_at=deadline.due_at,
                         fires_at=deadline.due_at)
    compiled = [handler.get(u).json() for u in ("/api/v1/deadlines/", "/api/v1/alerts/")]
    assert [d["overdue"] for d in compiled[0]["results"]] == [True, False]
    assert compiled[1]["count"] == 1 and compiled[1]["results"][0]["reference"] == case.reference
    _generic(monkeypatch)
    assert [handler.get(u).json() for u in ("/api/v1/deadlines/", "/api/v1/alerts/")] == compiled


@pytest.mark.parametrize("size,page", [(1, 1), (1, 40), (20, 2), (200, 1)])
def test_deadline_and_alert_lists_query_count_is_constant(handler, org, size, page):
    template = CaseFactory(organization=org)
    cases = [template, *clone_cases(template, 40)]
    now = timezone.now()
    deadlines = Deadline.objects.bulk_create([
        Deadline(case=c, kind="platform_answer", starts_at=now, due_at=now + timedelta(hours=i), hours=i)
        for i, c in enumerate(cases)])
    Alert.objects.bulk_create([Alert(organization=org, case_id=d.case_id, deadline=d, kind="due_soon_24h",
                                     due_at=d.due_at, fires_at=now) for d in deadlines])
    for url in ("/api/v1/deadlines/", "/api/v1/alerts/"):
        assert queries(handler, url, {"page_size": size, "page": page}) == queries(
            handler, url, {"page_size": 1, "page": 1})
        walked, _ = follow(handler, url, {"cursor": "", "page_size": 9})
        assert len(walked) == len(set(walked)) == 41


def test_alerts_of_another_organization_stay_hidden(handler, org, other_org):
    theirs = CaseFactory(organization=other_org)
    now = timezone.now()
    deadline = Deadline.objects.create(case=theirs, kind="platform_answer", starts_at=now, due_at=now, hours=1)
    Alert.objects.create(organization=other_org, case=theirs, deadline=deadline, kind="overdue", due_at=now,
                         fires_at=now)
    assert handler.get("/api/v1/alerts/").json()["count"] == 0


def test_me_says_who_the_caller_is(handler, partner, partner_key, org, anon, make_user):
    me = handler.get("/api/v1/auth/me/").json()
    assert me["kind"] == "user" and me["role"] == "handler" and me["organization"] == org.pk
    key = partner.get("/api/v1/auth/me/").json()
    assert key == {"kind": "api_key", "id": f"api-key-{partner_key[0].pk}",
                   "username": f"api-key:{partner_key[0].prefix}", "organization": org.pk, "role": "partner",
                   "token_expiry": None}
    assert_error(anon.get("/api/v1/auth/me/"), 401)
    token_client = APIClient()
    user = make_user(role="analyst")
    token = token_client.post("/api/v1/auth/token/", {"username": user.username,
                                                      "password": "correct-horse-battery"}).json()["token"]
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert token_client.get("/api/v1/auth/me/").json()["role"] == "analyst"


def test_a_search_counts_from_its_page_when_the_page_is_not_full(handler, many_cases):
    """A search reads its matches once: a page that is not full is its own count; a full one is counted."""
    few = handler.get(URL, {"search": "BULK000001"}).json()  # BULK0000010..19
    assert (few["count"], few["count_exact"], few["next"]) == (10, True, None)
    assert sorted(r["order_number"] for r in few["results"]) == [f"BULK00000{n}" for n in range(10, 20)]
    full = handler.get(URL, {"search": "BULK00001", "page_size": 10}).json()  # BULK0000100..199
    assert (full["count"], full["count_exact"], len(full["results"])) == (100, True, 10) and full["next"]
    none = handler.get(URL, {"search": "NOTHING-LIKE-IT"}).json()
    assert (none["count"], none["results"]) == (0, [])
    sparse = queries(handler, URL, {"search": "BULK000001"})
    # the page alone; a full page needs its count read beside it
    assert sparse == queries(handler, URL, {"search": "BULK00001", "page_size": 10}) - 1


def test_long_order_number_fragments_are_found_exactly_as_contains(handler, org):
    """A term of six characters or more is looked up by its six-character pieces on PostgreSQL, then
    checked as "contains": the same rows as a plain case-insensitive contains, whatever the term."""
    numbers = ["408510100001606466", "408510100001606467", "ab-Order-99%_x-7781", "000000000000000000",
               "9408510100001606466", "TB-99-km-2026"]
    cases = {n: CaseFactory(organization=org, order_number=n) for n in numbers}
    CaseFactory(order_number="408510100001606466")  # another organization's: never listed

    def found(term):
        return {r["id"] for r in handler.get(URL, {"search": term, "page_size": 200}).json()["results"]}

    def contains(term):
        return {c.pk for n, c in cases.items() if term.upper() in n.upper() or term.upper() in c.reference.upper()}

    for term in ["408510100001606466", "510100001606", "100001606466", "40851010000160646", "ORDER-99%_X",
                 "order-99%", "%_x-77", "000000", "0000000000000", "01606466", "606466", "99-KM-2026",
                 "4085101000016064669", "x" * 100, "_x-778", "ab-order-99%_x-7781"]:
        assert found(term) == contains(term), term


def test_a_term_that_cannot_be_in_a_reference_does_not_ask_the_reference_index():
    from cases.filters import could_be_in_reference

    assert could_be_in_reference("KM-2026-000042") and could_be_in_reference("2026-0000")
    assert could_be_in_reference("km-20") and could_be_in_reference("000123456789")  # 12 digits
    assert not could_be_in_reference("408510100001606466")  # 18 digits: no reference holds them
    assert not could_be_in_reference("JD-77821-A") and not could_be_in_reference("KM-2026-000042-1234567")


def test_an_order_number_search_reads_the_pieces_index_on_postgresql(make_user, org, real_postgres):
    from cases.filters import CaseFilter
    from cases.selectors import case_list

    clone_cases(CaseFactory(organization=org, order_number="408510100001606466"), 5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    queryset = CaseFilter({"search": "408510100001606466"}, queryset=case_list(user=make_user(), listing=True)).qs
    plan = queryset.explain()
    assert "case_order_number_grams_idx" in plan
    assert "case_reference_trgm_idx" not in plan  # 18 digits: in no reference
    # a small pending list for every search to read through while cases are filed
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname IN "
                       "('case_order_number_grams_idx', 'case_reference_trgm_idx', 'case_order_number_trgm_idx')")
        options = dict(cursor.fetchall())
    assert options == dict.fromkeys(options, ["gin_pending_list_limit=64"]) and len(options) == 3


def test_the_cases_table_is_vacuumed_often_enough_for_index_only_walks(db, real_postgres):
    """Deep pages and the bounded count walk list indexes; the newest cases must not wait for 20 % of the
    table to change before their pages are marked all-visible again (migration cases/0012)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'cases_case'")
        options = dict(option.split("=") for option in cursor.fetchone()[0])
    assert float(options["autovacuum_vacuum_insert_scale_factor"]) <= 0.001
    assert float(options["autovacuum_vacuum_scale_factor"]) <= 0.01


def test_a_search_term_over_100_characters_is_a_400_naming_search(handler, org):
    CaseFactory(organization=org, order_number="9" * 64)  # the longest order number
    assert handler.get(URL, {"search": "9" * 64}).json()["count"] == 1
    assert handler.get(URL, {"search": "9" * 100}).json()["count"] == 0  # longer than any: found in none
    response = handler.get(URL, {"search": "9" * 101})
    assert_error(response, 400, attr="search")
