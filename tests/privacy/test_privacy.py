"""Personal data (PIPL): encryption and keys, search by blind index, retention, the person's rights."""

import io
import json
import logging
import zipfile
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from cases.codes import Role, Status
from cases.models import Case, Consumer
from cases.selectors import consumers_matching
from evidence.models import Evidence
from evidence.selectors import chain_verify
from kameng_api.core import crypto
from kameng_api.core.models import AuditLog
from privacy import services
from privacy.models import PrivacySettings, RetentionRun
from tests.evidence.conftest import media_root, upload  # noqa: F401
from tests.factories import CaseFactory, ConsumerFactory

from .helpers import valid_id

PHONE = "13700001111"
ID_NUMBER = valid_id("32010619900101123")


def _stored(consumer_id) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, id_number, payment_account, name_index, phone_index, id_number_index "
                       "FROM cases_consumer WHERE id = %s", [consumer_id])
        return cursor.fetchone()


def _consumer_case(org, **case):
    consumer = ConsumerFactory(organization=org, name="李四", phone=PHONE, id_number=ID_NUMBER,
                               payment_account="6222021234567890")
    return CaseFactory(organization=org, consumer=consumer, **case)


# --- encryption and keys -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_values_are_stored_as_tokens_and_read_back_plain(org):
    case = _consumer_case(org)
    row = _stored(case.consumer_id)
    assert all(v.startswith(crypto.TOKEN_PREFIX) for v in row[:4])
    assert PHONE not in "".join(row) and ID_NUMBER not in "".join(row) and "李四" not in "".join(row)
    assert all(len(v) == 64 for v in row[4:])
    consumer = Consumer.objects.get(pk=case.consumer_id)
    assert (consumer.name, consumer.phone, consumer.id_number) == ("李四", PHONE, ID_NUMBER)
    # The same value encrypts differently each time (no equality leaks between rows).
    assert crypto.encrypt(PHONE) != crypto.encrypt(PHONE)


@pytest.mark.django_db
def test_an_encrypted_field_refuses_a_plain_lookup(org):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError, match="blind index"):
        list(Consumer.objects.filter(phone=PHONE))


@pytest.mark.django_db
def test_rotation_reencrypts_with_the_new_key_and_the_indexes_stay(org, settings):
    from django.core.management import call_command

    old_key = settings.KAMENG_DATA_KEYS[0]
    cases = [_consumer_case(org) for _ in range(5)]
    before = [_stored(c.consumer_id) for c in cases]
    new_key = Fernet.generate_key().decode()
    settings.KAMENG_DATA_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_data_keys", "--batch", "2", stdout=out)
    assert "5 rows re-encrypted (20 values)" in out.getvalue(), out.getvalue()
    after = [_stored(c.consumer_id) for c in cases]
    for b, a in zip(before, after, strict=True):
        assert a[:4] != b[:4] and a[4:] == b[4:]  # tokens changed, blind indexes did not
    # The old key can go: everything reads with the new one alone.
    settings.KAMENG_DATA_KEYS = [new_key]
    assert {c.phone for c in Consumer.objects.all()} == {PHONE}
    assert consumers_matching(kind="phone", value=PHONE).count() == 5
    # A second run has nothing to do (resumable: only rows not under the first key are touched).
    out = io.StringIO()
    call_command("rotate_data_keys", stdout=out)
    assert "0 rows re-encrypted" in out.getvalue(), out.getvalue()
    # Without the key, reads fail loudly, and the message holds no value.
    settings.KAMENG_DATA_KEYS = [old_key]
    with pytest.raises(crypto.DecryptionFailed) as failed:
        Consumer.objects.get(pk=cases[0].consumer_id)
    assert PHONE not in str(failed.value)


def test_the_embedded_default_generates_a_key_file_once_and_says_so(settings, tmp_path, caplog):
    settings.KAMENG_DATA_KEYS = []
    settings.KAMENG_BLIND_INDEX_KEY = ""
    settings.KAMENG_DATA_KEY_FILE = str(tmp_path / "var" / "data-keys.json")
    caplog.set_level(logging.WARNING, logger="kameng.crypto")
    token = crypto.encrypt("王五")
    assert (tmp_path / "var" / "data-keys.json").stat().st_mode & 0o777 == 0o600
    assert "generated personal data keys" in caplog.text
    caplog.clear()
    crypto.reset_keys()
    assert crypto.decrypt(token) == "王五" and "generated" not in caplog.text


def test_a_bad_key_is_refused_with_a_clear_message(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.KAMENG_DATA_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet key"):
        crypto.encrypt("x")


# --- search and duplicates ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_lookup_finds_cases_by_exact_phone_or_id_number_in_the_own_organization_only(
        org, other_org, user_client):
    mine = _consumer_case(org)
    _consumer_case(other_org)
    handler = user_client(Role.HANDLER)
    for body in ({"phone": PHONE}, {"phone": "+86 137-0000-1111"}, {"id_number": ID_NUMBER.lower()}):
        answer = handler.post("/api/v1/privacy/lookup/", body, format="json")
        assert answer.status_code == 200, answer.content
        assert [c["reference"] for c in answer.json()["cases"]] == [mine.reference], body
    assert handler.post("/api/v1/privacy/lookup/", {"phone": "13700001112"}, format="json").json()["cases"] == []
    bad = handler.post("/api/v1/privacy/lookup/", {}, format="json")
    assert bad.status_code == 400
    assert user_client(Role.ANALYST).post("/api/v1/privacy/lookup/", {"phone": PHONE}, format="json").status_code == 403
    audit = AuditLog.objects.filter(action="pii_search").first()
    assert audit is not None and PHONE not in json.dumps(audit.detail)


@pytest.mark.django_db
def test_admin_search_by_phone_and_id_number_uses_the_blind_index(org, make_user, client):
    case = _consumer_case(org)
    CaseFactory(organization=org)  # another consumer
    user = make_user(Role.HANDLER, is_staff=True)
    client.force_login(user)
    for term in (PHONE, ID_NUMBER, "李四"):
        page = client.get("/admin/cases/case/", {"q": term})
        assert page.status_code == 200
        assert case.reference in page.content.decode() and page.context["cl"].result_count == 1, term


@pytest.mark.django_db
def test_the_duplicate_order_check_still_answers_409(org, platform, user_client):
    CaseFactory(organization=org, platform=platform, order_number="DUP-1")
    now = timezone.now()
    response = user_client(Role.INTAKE).post("/api/v1/cases/", {
        "platform": platform.pk, "order_number": "DUP-1", "product_type": "game_card", "amount_paid": "10.00",
        "payment_channel": "alipay", "purchased_at": (now - timedelta(days=2)).isoformat(),
        "problem_found_at": (now - timedelta(days=1)).isoformat(), "dispute_type": "invalid_code",
        "description": "x", "consumer": {"name": "李四", "phone": PHONE},
        "claims": [{"kind": "refund", "amount": "10.00"}]}, format="json")
    assert response.status_code == 409 and PHONE not in response.content.decode()


# --- retention ---------------------------------------------------------------------------------------------

def _closed(org, days_ago, **kw):
    case = _consumer_case(org, **kw)
    Case.objects.filter(pk=case.pk).update(status=Status.RESOLVED, outcome="favourable",
                                           closed_at=timezone.now() - timedelta(days=days_ago))
    return Case.objects.get(pk=case.pk)


@pytest.mark.django_db
def test_retention_anonymizes_what_is_due_and_keeps_cases_and_statistics(org, other_org, user_client):
    from stats.services import stats_rebuild

    old = _closed(org, 3 * 365 + 1)
    recent = _closed(org, 3 * 365 - 1)
    still_open = _consumer_case(org)
    PrivacySettings.objects.create(organization=other_org, anonymize_after_days=30)
    other_old = _closed(other_org, 31)
    stats_rebuild()
    analyst = user_client(Role.ANALYST)
    before = analyst.get("/api/v1/stats/platforms/").json()

    runs = services.retention_run()

    assert {r.organization_id: r.consumers_anonymized for r in runs} == {org.pk: 1, other_org.pk: 1}
    assert RetentionRun.objects.count() == 2
    gone = Consumer.objects.get(pk=old.consumer_id)
    assert (gone.name, gone.phone, gone.id_number, gone.payment_account) == ("李*", "", "", "")
    assert gone.anonymized_at is not None and _stored(gone.pk)[4:] == ("", "", "")
    assert Consumer.objects.get(pk=other_old.consumer_id).anonymized_at is not None
    for kept in (recent, still_open):
        assert Consumer.objects.get(pk=kept.consumer_id).phone == PHONE
    assert [c.pk for c in consumers_matching(kind="phone", value=PHONE, organization_id=org.pk)] == sorted(
        [recent.consumer_id, still_open.consumer_id])
    assert Case.objects.filter(pk=old.pk, status=Status.RESOLVED).exists()  # the case record stays
    stats_rebuild()
    assert analyst.get("/api/v1/stats/platforms/").json() == before
    assert services.retention_run()[0].consumers_anonymized == 0  # nothing twice


@pytest.mark.django_db
def test_retention_keeps_or_deletes_evidence_files_and_the_chain_still_verifies(
        org, user_client, upload, settings):  # noqa: F811
    from django.core.files.storage import default_storage

    handler = user_client(Role.HANDLER)
    cases = []
    for setting in ("keep", "delete"):
        from tests.factories import OrganizationFactory

        own = org if setting == "keep" else OrganizationFactory()
        client = handler if setting == "keep" else user_client(Role.HANDLER, own)
        case = _consumer_case(own)
        assert upload(client, case).status_code == 201
        Case.objects.filter(pk=case.pk).update(status=Status.RESOLVED, closed_at=timezone.now() - timedelta(days=10))
        PrivacySettings.objects.create(organization=own, anonymize_after_days=5, evidence_files=setting)
        cases.append(case)
    runs = {r.organization_id: r for r in services.retention_run()}
    kept, deleted = cases
    assert runs[kept.organization_id].evidence_files_deleted == 0
    assert runs[deleted.organization_id].evidence_files_deleted == 1
    assert default_storage.exists(Evidence.objects.get(case=kept).file.name)
    assert not default_storage.exists(Evidence.objects.get(case=deleted).file.name)
    for case in cases:
        result = chain_verify(case, check_files=False)
        assert result["intact"] and result["checked"] == 1, result


@pytest.mark.django_db
def test_the_audit_log_is_purged_after_its_period_but_never_under_six_months(org):
    old = AuditLog.objects.create(organization=org, action="pii_read", object_type="consumer", object_id="1")
    mid = AuditLog.objects.create(organization=org, action="pii_read", object_type="consumer", object_id="2")
    AuditLog.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=3 * 365 + 1))
    AuditLog.objects.filter(pk=mid.pk).update(at=timezone.now() - timedelta(days=200))
    run = [r for r in services.retention_run() if r.organization_id == org.pk][0]
    assert run.audit_rows_deleted == 1 and AuditLog.objects.filter(pk=mid.pk).exists()
    from django.core.exceptions import ValidationError

    conf = PrivacySettings(organization=org, audit_log_days=100)
    with pytest.raises(ValidationError):
        conf.full_clean()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PrivacySettings.objects.create(organization=org, audit_log_days=100)


@pytest.mark.django_db
def test_the_beat_schedules_the_retention_task(settings):
    from kameng_api.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["privacy-retention"]["task"] == "privacy.retention_run"
    app.loader.import_default_modules()
    assert "privacy.retention_run" in app.tasks


# --- the person's rights -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_supervisor_exports_everything_held_about_a_person_as_a_zip(org, user_client, make_user):
    first = _consumer_case(org)
    second = _closed(org, 10)
    reader = make_user(Role.HANDLER)
    AuditLog.objects.create(organization=org, actor_user=reader, action="pii_read", object_type="consumer",
                            object_id=str(first.consumer_id), detail={"case": first.reference})
    response = user_client(Role.SUPERVISOR).post("/api/v1/privacy/export/", {"id_number": ID_NUMBER}, format="json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    for case in (first, second):
        assert {f"cases/{case.reference}/case.json", f"cases/{case.reference}/evidence.json"} <= names
        assert any(n.startswith(f"cases/{case.reference}/letters/") for n in names)
    people = json.loads(archive.read("personal_data.json"))
    assert {p["phone"] for p in people} == {PHONE} and len(people) == 2
    access = json.loads(archive.read("access_log.json"))
    assert any(row["by"] == reader.username and row["action"] == "pii_read" for row in access)
    exported = AuditLog.objects.filter(action="pii_export")
    assert exported.count() == 2 and PHONE not in json.dumps(list(exported.values_list("detail", flat=True)))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["export", "correct", "erase"])
def test_rights_are_for_supervisors_of_the_own_organization(org, other_org, user_client, path):
    _consumer_case(org)
    body = {"phone": PHONE, "set": {"name": "李四"}} if path == "correct" else {"phone": PHONE}
    for role in (Role.INTAKE, Role.HANDLER, Role.ANALYST):
        assert user_client(role).post(f"/api/v1/privacy/{path}/", body, format="json").status_code == 403
    other = user_client(Role.SUPERVISOR, other_org)
    assert other.post(f"/api/v1/privacy/{path}/", body, format="json").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().post(f"/api/v1/privacy/{path}/", body, format="json").status_code == 401
    assert Consumer.objects.get().phone == PHONE  # nothing changed


@pytest.mark.django_db
def test_a_supervisor_corrects_a_person_in_every_record(org, user_client):
    cases = [_consumer_case(org), _closed(org, 5)]
    supervisor = user_client(Role.SUPERVISOR)
    bad = supervisor.post("/api/v1/privacy/correct/", {"phone": PHONE, "set": {"id_number": "123"}}, format="json")
    assert bad.status_code == 400 and "set" in bad.content.decode()
    empty = supervisor.post("/api/v1/privacy/correct/", {"phone": PHONE, "set": {}}, format="json")
    assert empty.status_code == 400
    response = supervisor.post("/api/v1/privacy/correct/", {"phone": PHONE, "set": {"phone": "13700002222"}},
                               format="json")
    assert response.status_code == 200, response.content
    assert response.json()["records"] == 2
    for case in cases:
        assert Consumer.objects.get(pk=case.consumer_id).phone == "13700002222"
    assert consumers_matching(kind="phone", value=PHONE).count() == 0
    assert consumers_matching(kind="phone", value="13700002222").count() == 2
    audit = AuditLog.objects.filter(action="pii_correct")
    assert audit.count() == 2 and all(a.detail == {"fields": ["phone"]} for a in audit)


@pytest.mark.django_db
def test_erasure_is_refused_while_a_case_is_open_and_audited_without_the_data(org, user_client):
    open_case = _consumer_case(org)
    supervisor = user_client(Role.SUPERVISOR)
    refused = supervisor.post("/api/v1/privacy/erase/", {"phone": PHONE}, format="json")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "legal_hold"
    assert open_case.reference in refused.content.decode() and PHONE not in refused.content.decode()
    Case.objects.filter(pk=open_case.pk).update(status=Status.RESOLVED, closed_at=timezone.now())
    done = supervisor.post("/api/v1/privacy/erase/", {"phone": PHONE}, format="json")
    assert done.status_code == 200, done.content
    consumer = Consumer.objects.get()
    assert (consumer.name, consumer.phone, consumer.id_number) == ("李*", "", "")
    erased = AuditLog.objects.get(action="pii_erase")
    text = json.dumps(erased.detail, ensure_ascii=False)
    assert PHONE not in text and "李四" not in text and ID_NUMBER not in text
    assert supervisor.post("/api/v1/privacy/erase/", {"phone": PHONE}, format="json").status_code == 404
    detail = supervisor.get(f"/api/v1/cases/{open_case.pk}/").json()
    assert detail["consumer"]["name"] == "李*" and detail["consumer"]["phone"] == ""


@pytest.mark.django_db
def test_the_admin_actions_export_and_erase_for_supervisors_only(org, make_user, client):
    case = _closed(org, 5)
    handler = make_user(Role.HANDLER, is_staff=True)
    client.force_login(handler)
    page = client.get("/admin/cases/case/")
    assert "subject_export_action" not in page.content.decode()
    supervisor = make_user(Role.SUPERVISOR, is_staff=True)
    client.force_login(supervisor)
    page = client.get("/admin/cases/case/")
    assert "subject_export_action" in page.content.decode()
    response = client.post("/admin/cases/case/", {"action": "subject_export_action", "_selected_action": [case.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    response = client.post("/admin/cases/case/", {"action": "subject_erase_action", "_selected_action": [case.pk]},
                           follow=True)
    assert response.status_code == 200
    assert Consumer.objects.get(pk=case.consumer_id).anonymized_at is not None


@pytest.mark.django_db
def test_a_partner_key_finds_only_the_cases_it_filed(org, partner, partner_key):
    _consumer_case(org)  # filed by staff
    filed = _consumer_case(org, filed_by_key=partner_key[0])
    answer = partner.post("/api/v1/privacy/lookup/", {"phone": PHONE}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["records"] == 1 and [c["id"] for c in answer.json()["cases"]] == [filed.pk]
    assert partner.post("/api/v1/privacy/export/", {"phone": PHONE}, format="json").status_code == 403


@pytest.mark.django_db
def test_the_admin_refuses_to_erase_while_a_case_is_open_with_a_message(org, make_user, client):
    case = _consumer_case(org)  # still open: the legal hold applies
    client.force_login(make_user(Role.SUPERVISOR, is_staff=True))
    response = client.post("/admin/cases/case/", {"action": "subject_erase_action", "_selected_action": [case.pk]},
                           follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and case.reference in shown[0], shown  # names the open case to close first
    consumer = Consumer.objects.get(pk=case.consumer_id)
    assert consumer.anonymized_at is None and consumer.phone == PHONE
