"""The case list rendered by PostgreSQL (kameng_api/core/rendered.py) is what DRF's serializer renders for
the same rows: every field, every kind of value, any time zone, deep pages and cursors, masked consumers."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import serializers

from cases.api.serializers import CaseListSerializer
from cases.models import Case, Consumer, Merchant
from kameng_api.core.rendered import datetime_sql
from kameng_api.core.representation import CompiledRepresentation
from privacy.services import consumers_anonymize
from tests.factories import CaseFactory, ConsumerFactory

URL = "/api/v1/cases/"

pytestmark = pytest.mark.usefixtures("real_postgres")  # rows are rendered by the database on PostgreSQL only


def drf_rendering(ids: list[int]) -> list[dict]:
    """The rows as DRF's own generic loop renders them (no compiled plan, no SQL)."""
    rows = {c.pk: c for c in Case.objects.filter(pk__in=ids).select_related("merchant", "consumer")
            .prefetch_related("claims")}
    original = CompiledRepresentation.to_representation
    CompiledRepresentation.to_representation = serializers.Serializer.to_representation  # type: ignore[method-assign]
    try:
        data = CaseListSerializer([rows[i] for i in ids], many=True).data
    finally:
        CompiledRepresentation.to_representation = original  # type: ignore[method-assign]
    import json

    return json.loads(json.dumps(data, ensure_ascii=False))


@pytest.fixture
def varied(org, make_user):
    """Cases with every kind of value a list row holds."""
    someone = make_user()
    whole_second = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    merchant = Merchant.objects.create(platform=CaseFactory(organization=org).platform, name='店 "引号" \\ 斜杠')
    cases = [
        CaseFactory(organization=org, assignee=someone, delivered_at=None, face_value=Decimal("12.50"),
                    description='卡密"已被"使用\n第二行\t制表 \\ 反斜杠 \u0001 控制 😀',
                    claims=[{"kind": "refund", "amount": "10.00"}, {"kind": "compensation", "amount": None}]),
        CaseFactory(organization=org, status="resolved", outcome="favourable", amount_recovered=Decimal("3.30"),
                    closed_at=timezone.now(), consumer_rating=4, claims=[]),
        CaseFactory(organization=org, merchant=merchant, purchased_at=whole_second,
                    delivered_at=whole_second.replace(microsecond=1), problem_found_at=whole_second,
                    amount_paid=Decimal("0.01"), waiting_on_consumer=True, fraud_suspected=True,
                    consumer=ConsumerFactory(organization=org, name="李", phone="", id_number="")),
        CaseFactory(organization=org, amount_paid=Decimal("99999.90"),
                    purchased_at=datetime(1995, 7, 1, 23, 59, 59, 999999, tzinfo=UTC)),
    ]
    # a case created at a whole second (no fraction), as a clock with second resolution would write it
    Case.objects.filter(pk=cases[2].pk).update(created_at=whole_second, updated_at=whole_second)
    return cases


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"])
def test_rendered_list_equals_drf_for_every_kind_of_value(handler, varied, tz):
    with timezone.override(tz):
        response = handler.get(URL, {"page_size": 10})
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        body = response.json()
        ids = [row["id"] for row in body["results"]]
        assert {c.pk for c in varied} <= set(ids)
        assert body["results"] == drf_rendering(ids)
    # the values a reader sees, spelled out once
    row = next(r for r in body["results"] if r["id"] == varied[2].pk)
    assert row["merchant_name"] == '店 "引号" \\ 斜杠' and row["consumer"] == {
        "name": "李*", "phone": "", "id_number": ""}
    assert row["amount_paid"] == "0.01" and row["waiting_on_consumer"] is True


def test_datetimes_render_as_python_writes_them(db):
    """The SQL of a datetime against Python's isoformat, across offsets, DST and fractions."""
    samples = [datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), datetime(2026, 7, 1, 3, 4, 5, 6, tzinfo=UTC),
               datetime(1990, 7, 1, 12, 0, 0, 500000, tzinfo=UTC),  # China kept summer time then (+09:00)
               datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]
    for tz in ("Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Eucla"):
        for value in samples:
            with connection.cursor() as cursor:
                cursor.execute("SELECT " + datetime_sql("t", tz)  # noqa: S608 - SQL of a column name
                               + " FROM (SELECT %s::timestamptz AS t) s", [value])
                got = cursor.fetchone()[0]
            with timezone.override(tz):
                expected = serializers.DateTimeField().to_representation(value)
            assert got == expected, (tz, value)


def test_deep_pages_and_cursors_render_the_same_rows(handler, org):
    cases = [CaseFactory(organization=org) for _ in range(7)]
    seen = []
    page = handler.get(URL, {"cursor": "", "page_size": 3}).json()
    while True:
        seen += page["results"]
        if not page["next"]:
            break
        page = handler.get(page["next"]).json()
    assert sorted(r["id"] for r in seen) == sorted(c.pk for c in cases)
    assert seen == drf_rendering([r["id"] for r in seen])
    deep = handler.get(URL, {"page": 3, "page_size": 2}).json()
    assert deep["results"] == drf_rendering([r["id"] for r in deep["results"]]) and len(deep["results"]) == 2


def test_list_shows_the_stored_masks_after_correction_and_anonymization(handler, org, supervisor):
    case = CaseFactory(organization=org, consumer=ConsumerFactory(organization=org, name="王小明",
                                                                     phone="13812345678"))
    assert handler.get(URL).json()["results"][0]["consumer"] == {
        "name": "王**", "phone": "138****5678", "id_number": Consumer.objects.get(pk=case.consumer_id).masked_id_number}
    consumer = Consumer.objects.get(pk=case.consumer_id)
    consumer.phone = "13900001111"
    consumer.save()
    assert handler.get(URL).json()["results"][0]["consumer"]["phone"] == "139****1111"
    consumers_anonymize(consumer_ids=[consumer.pk])
    assert handler.get(URL).json()["results"][0]["consumer"] == {"name": "王*", "phone": "", "id_number": ""}


def test_masks_are_no_personal_data_in_clear(org):
    """The stored masks hold no full value: what a list shows, never more."""
    consumer = ConsumerFactory(organization=org, name="欧阳娜娜", phone="13812345678", id_number="11010519491231002X")
    with connection.cursor() as cursor:
        cursor.execute("SELECT masked_name, masked_phone, masked_id_number, name, phone FROM cases_consumer "
                       "WHERE id = %s", [consumer.pk])
        masked_name, masked_phone, masked_id, name, phone = cursor.fetchone()
    assert (masked_name, masked_phone, masked_id) == ("欧***", "138****5678", "1101**********002X")
    assert "13812345678" not in name + phone and "欧阳娜娜" not in name  # the values themselves are encrypted


def test_a_filtered_and_searched_list_renders_the_same(handler, org, varied):
    for params in ({"status": "resolved"}, {"search": varied[0].order_number}, {"assignee": varied[0].assignee_id},
                   {"status": "intake", "page_size": 1, "page": 2}):
        body = handler.get(URL, params).json()
        assert body["results"], params
        assert body["results"] == drf_rendering([r["id"] for r in body["results"]]), params


def _prepared_list_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%_km_rendered_row%"])
        return [row[0] for row in cursor.fetchall()]


def test_a_plain_list_is_prepared_and_a_search_is_not(handler, org):
    """A prepared statement gets a generic plan, which cannot use the trigram index for `LIKE $1`: a search
    finds its matches by a statement planned with its pattern every time, and only the rendering of the rows
    it found (by id, naming no search term) is prepared; the plain list is prepared once."""
    case = CaseFactory(organization=org, order_number="ORDER-4085101000016")
    CaseFactory(organization=org, order_number="OTHER-1")
    for term in [case.order_number, case.order_number[2:9].lower(), case.reference, "RDER-40851"]:
        for _ in range(3):
            body = handler.get(URL, {"search": term}).json()
            assert [r["id"] for r in body["results"]] == [case.pk] and body["count"] == 1, term
    searched = _prepared_list_statements()
    assert searched and not [s for s in searched if "LIKE" in s.upper() or "STRPOS" in s.upper()
                             or "KAMENG_GRAMS" in s.upper()]
    for _ in range(7):
        assert handler.get(URL).json()["results"][0]["id"] in (case.pk, case.pk + 1)
    assert len(_prepared_list_statements()) == len(searched) + 1


def test_a_detail_and_its_audit_row_are_prepared_statements_with_the_same_answer(handler, org, real_postgres):
    """The detail is read, and its pii_read row written, by statements prepared once per connection; the
    answer is what the ORM's own read gives (the case of another organization stays a 404)."""
    from cases.api.serializers import CaseSerializer
    from kameng_api.core.models import AuditLog
    from tests.factories import OrganizationFactory

    case = CaseFactory(organization=org)
    other = CaseFactory(organization=OrganizationFactory())
    bodies = [handler.get(f"{URL}{case.pk}/").json() for _ in range(3)]
    expected = CaseSerializer(Case.objects.select_related("consumer", "merchant").get(pk=case.pk)).data
    assert bodies[0] == bodies[2] == json.loads(json.dumps(expected, default=str))
    assert handler.get(f"{URL}{other.pk}/").status_code == 404
    assert AuditLog.objects.filter(action="pii_read", object_id=str(case.consumer_id)).count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any('FROM "cases_case"' in s and '"cases_case"."id" = $' in s for s in statements)
    assert any(s.startswith("INSERT INTO") and "core_auditlog" in s for s in statements)


def test_prepared_statements_get_generic_plans(db, real_postgres):
    """The statements the application prepares are planned once (settings: plan_cache_mode), not again on
    every run because a custom plan looked a little cheaper."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"


def test_a_search_over_an_order_the_ids_cannot_restore_is_one_statement(org, real_postgres):
    """A rendered search page in an order made of another table's column (no keyset) is read in one
    statement planned with its term, in that order."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from cases.selectors import case_list_row_sql
    from kameng_api.core.pagination import Pagination
    from kameng_api.core.rendered import row_json

    names = ["丙店", "甲店", "乙店"]
    for i, name in enumerate(names):
        merchant = Merchant.objects.create(platform=CaseFactory(organization=org).platform, name=name)
        CaseFactory(organization=org, merchant=merchant, order_number=f"SAME-ORDER-{i}")
    view = type("View", (), {"selective_params": ("search",)})()
    request = Request(APIRequestFactory().get("/api/v1/cases/", {"search": "SAME-ORDER"}))
    queryset = Case.objects.filter(organization=org, order_number__icontains="SAME-ORDER").order_by(
        "merchant__name", "-id")
    rows = Pagination().paginate_rendered(queryset, row_json(CaseListSerializer, extra=case_list_row_sql()),
                                          request, view=view)
    assert [json.loads(row)["merchant_name"] for row in rows] == sorted(names)
