"""A spike as a group complaint (群体投诉): the shared evidence pack and the police report that adds up the victims'
losses — totals against our own SQL, tenant isolation, bad input, the admin page."""

import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import docx
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from cases.codes import Role
from cases.models import Case, Merchant
from evidence.services import evidence_add
from evidence.uploads import upload_from_bytes
from kameng_api.core.models import AuditLog
from stats.groups import verify_pack
from stats.models import MassIncident
from stats.spikes import spikes_detect
from tests.cases.test_cases_api import assert_error
from tests.evidence.conftest import png
from tests.factories import CaseFactory, PlatformFactory, UserFactory

pytestmark = pytest.mark.django_db


def burst(platform, organization, now, n, dispute_type="platform_absconded", paid=None):
    ids = []
    for i in range(n):
        case = CaseFactory(organization=organization, platform=platform, dispute_type=dispute_type)
        Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(minutes=10 * (i + 1)),
                                               amount_paid=paid[i] if paid else Decimal(100 + 37 * i) + Decimal("0.5"))
        ids.append(case.pk)
    return ids


@pytest.fixture
def group(org, other_org, settings, tmp_path):
    """12 of our complaints (one consumer filed two, one got 40.00 back) and 5 of another organization's,
    against a platform that vanished; two of our cases carry evidence."""
    settings.MEDIA_ROOT = str(tmp_path)
    now = timezone.now()
    platform = PlatformFactory(name="跑路卡盟", company_name="某某网络科技有限公司", domains=["paolu.example"])
    ours = burst(platform, org, now, 12)
    theirs = burst(platform, other_org, now, 5)
    merchant = Merchant.objects.create(platform=platform, name="飞速发卡", contact="QQ 123456")
    first, second = Case.objects.get(pk=ours[0]), Case.objects.get(pk=ours[1])
    Case.objects.filter(pk=second.pk).update(consumer=first.consumer)
    Case.objects.filter(pk=ours[2]).update(amount_recovered=Decimal("40.00"), merchant=merchant,
                                           payee_account="6222 0000 1111 2222")
    intake = UserFactory(role=Role.INTAKE, organization=org)
    for pk in ours[:2]:
        evidence_add(actor=intake, case=Case.objects.get(pk=pk), upload=upload_from_bytes(png(str(pk)), "pay.png"),
                     kind="order_screenshot", occurred_at=now - timedelta(days=1))
    spikes_detect(now=now)
    return MassIncident.objects.get(), ours, theirs


def our_sql(incident_id, organization_id):
    """(cases, victims, paid, recovered) and the per-victim rows (paid, recovered), in order of first case."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT c.consumer_id), sum(c.amount_paid), sum(coalesce(c.amount_recovered, 0)) "
            "FROM stats_massincident_cases m JOIN cases_case c ON c.id = m.case_id "
            "WHERE m.massincident_id = %s AND c.organization_id = %s", [incident_id, organization_id])
        totals = cursor.fetchone()
        cursor.execute(
            "SELECT sum(c.amount_paid), sum(coalesce(c.amount_recovered, 0)) "
            "FROM stats_massincident_cases m JOIN cases_case c ON c.id = m.case_id "
            "WHERE m.massincident_id = %s AND c.organization_id = %s GROUP BY c.consumer_id ORDER BY min(c.id)",
            [incident_id, organization_id])
        return totals, cursor.fetchall()


def secrets_of(case_ids):
    out = []
    for case in Case.objects.filter(pk__in=case_ids).select_related("consumer"):
        out += [s for s in (case.consumer.name, case.consumer.phone, case.consumer.id_number) if s]
    return out


def test_the_evidence_pack_holds_each_case_bundle_and_a_manifest_with_our_totals(user_client, org, group):
    incident, ours, theirs = group
    response = user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/{incident.id}/evidence-pack/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    path = io.BytesIO(data)
    problems, manifest = verify_pack(path)
    assert problems == []
    (cases, victims, paid, recovered), per_victim = our_sql(incident.id, org.id)
    assert manifest["totals"] == {"cases": cases, "victims": victims, "paid": f"{paid:.2f}",
                                  "recovered": f"{recovered:.2f}", "loss": f"{paid - recovered:.2f}"}
    assert (cases, victims) == (12, 11)
    assert [(Decimal(v["paid"]), Decimal(v["recovered"])) for v in manifest["victims"]] == per_victim
    own = {c.reference: c for c in Case.objects.filter(pk__in=ours)}
    assert {row["reference"] for row in manifest["cases"]} == set(own)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(["manifest.json", *[f"cases/{ref}-bundle.zip" for ref in own]])
        with_files = [row for row in manifest["cases"] if row["files"]]
        assert len(with_files) == 2
        inner = zipfile.ZipFile(io.BytesIO(archive.read(with_files[0]["bundle"])))
        assert any(name.startswith("files/") for name in inner.namelist())
        group_text = archive.read("manifest.json").decode()
    for case in Case.objects.filter(pk__in=theirs):
        assert case.reference not in group_text and case.reference not in str(names)
    for secret in secrets_of(ours):
        assert secret not in group_text  # the group's own file names no consumer
    for case in own.values():  # the case bundles carry no ID number either
        if case.consumer.id_number:
            assert case.consumer.id_number.encode() not in data
    logged = AuditLog.objects.filter(action="bundle_download", detail__via="group_evidence_pack")
    assert sorted(int(a.object_id) for a in logged) == sorted(ours)


def test_the_police_report_adds_up_each_victims_loss(user_client, org, group):
    incident, ours, theirs = group
    client = user_client(Role.SUPERVISOR, org)
    response = client.get(f"/api/v1/mass-incidents/{incident.id}/police-report/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    (cases, victims, paid, recovered), per_victim = our_sql(incident.id, org.id)
    loss = paid - recovered
    assert text.startswith("报案材料（群体投诉）")
    assert f"受害人{victims}人，共支付人民币{paid:.2f}元，已追回{recovered:.2f}元，尚有损失人民币{loss:.2f}元" in text
    for number, (v_paid, v_recovered) in enumerate(per_victim, start=1):
        line = next(line for line in text.splitlines() if line.startswith(f"受害人{number}："))
        assert line.endswith(f"支付{v_paid:.2f}，已追回{v_recovered:.2f}，损失{v_paid - v_recovered:.2f}")
    assert "受害人1：投诉2件" in text  # one consumer, two complaints
    assert f"合计：{cases}件，受害人{victims}人" in text
    # the law as data with its source
    assert "《中华人民共和国刑法》第二百六十六条" in text
    assert "(法释〔2011〕7号)第一条" in text
    assert "数额较大：人民币3,000元至10,000元以上" in text
    assert "数额巨大：人民币30,000元至100,000元以上" in text
    assert "已达到“数额较大”幅度的下限（3,000元）" in text  # 12 cases of 100–510 yuan: about 3,700 yuan
    assert "某某网络科技有限公司" in text and "6222 0000 1111 2222" in text and "QQ 123456" in text
    for case in Case.objects.filter(pk__in=theirs):
        assert case.reference not in text
    for secret in secrets_of(ours):
        assert secret not in text

    english = client.get(f"/api/v1/mass-incidents/{incident.id}/police-report/", {"lang": "en"}).content.decode()
    assert english.startswith("Crime Report of a Group Complaint")
    assert f"{victims} victims paid {paid:.2f} CNY in total" in english
    assert "Victim 1: 2 complaint(s)" in english

    word = client.get(f"/api/v1/mass-incidents/{incident.id}/police-report/", {"format": "docx"})
    assert word.status_code == 200 and word["Content-Disposition"].startswith("attachment")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs]
    assert paragraphs[0] == "报案材料（群体投诉）"
    assert any(f"尚有损失人民币{loss:.2f}元" in p for p in paragraphs)


def test_a_total_below_the_band_says_so(user_client, org, settings):
    now = timezone.now()
    platform = PlatformFactory(name="小额卡盟")
    burst(platform, org, now, 10, paid=[Decimal("20.00")] * 10)
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    text = user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/{incident.id}/police-report/").content.decode()
    assert "本案受害人合计损失人民币200.00元，尚未达到“数额较大”幅度的下限（3,000元）" in text
    assert "本案合计损失已达到该幅度的下限" not in text


def test_no_police_report_when_nothing_says_the_platform_vanished(user_client, org):
    now = timezone.now()
    burst(PlatformFactory(name="慢速卡盟"), org, now, 10, dispute_type="delivery_delay")
    spikes_detect(now=now)
    incident = MassIncident.objects.get()
    client = user_client(Role.SUPERVISOR, org)
    assert_error(client.get(f"/api/v1/mass-incidents/{incident.id}/police-report/"), 409, code="not_absconded")
    assert client.get(f"/api/v1/mass-incidents/{incident.id}/evidence-pack/").status_code == 200


@pytest.mark.parametrize("params, field", [({"lang": "fr"}, "lang"), ({"format": "pdf"}, "format"),
                                           ({"format": "docx", "lang": "x" * 300}, "lang")])
def test_bad_input_is_a_400(user_client, org, group, params, field):
    incident, _ours, _theirs = group
    response = user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/{incident.id}/police-report/", params)
    assert_error(response, 400, attr=field)
    if field == "lang":
        assert_error(user_client(Role.SUPERVISOR, org).get(
            f"/api/v1/mass-incidents/{incident.id}/evidence-pack/", params), 400, attr="lang")


def test_other_organizations_and_other_roles_are_refused(user_client, org, other_org, group, anon):
    incident, _ours, _theirs = group
    for suffix in ("evidence-pack/", "police-report/"):
        url = f"/api/v1/mass-incidents/{incident.id}/{suffix}"
        assert_error(anon.get(url), 401)
        for role in (Role.INTAKE, Role.HANDLER, Role.ANALYST):
            assert_error(user_client(role, org).get(url), 403)
        assert_error(user_client(Role.SUPERVISOR, OrganizationWithout()).get(url), 404)
        assert_error(user_client(Role.SUPERVISOR, org).get(f"/api/v1/mass-incidents/999999/{suffix}"), 404)
    # the other organization sees its own 5 cases only
    text = user_client(Role.SUPERVISOR, other_org).get(
        f"/api/v1/mass-incidents/{incident.id}/police-report/").content.decode()
    assert "受害人5人" in text and "本单位受理其中5件投诉" in text


def OrganizationWithout():  # noqa: N802 - reads like a fixture
    from tests.factories import OrganizationFactory

    return OrganizationFactory()


def test_the_admin_group_page_offers_the_documents(org, other_org, group):
    incident, ours, _theirs = group
    supervisor = UserFactory(role=Role.SUPERVISOR, organization=org, is_staff=True)
    from cases.roles import sync_role_group

    sync_role_group(supervisor)
    client = Client()
    client.force_login(supervisor)
    page = client.get(f"/admin/stats/massincident/{incident.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    (cases, victims, paid, recovered), _rows = our_sql(incident.id, org.id)
    assert f"{paid:.2f}" in html and f"{cases}" in html
    links = re.findall(r'href="([^"]+)" class="km-group-doc"', html)
    assert len(links) == 5
    pack = client.get(f"/admin/stats/massincident/{incident.id}/evidence-pack/")
    assert pack.status_code == 200
    assert verify_pack(io.BytesIO(b"".join(pack.streaming_content)))[0] == []
    report = client.get(f"/admin/stats/massincident/{incident.id}/police-report/", {"format": "docx"})
    assert report.status_code == 200
    assert client.get(f"/admin/stats/massincident/{incident.id}/police-report/", {"lang": "fr"}).status_code == 400
    # the changelist action for one selected incident
    action = client.post("/admin/stats/massincident/", {"action": "download_police_report",
                                                         "_selected_action": [incident.id]})
    assert action.status_code == 302 and action["Location"].endswith(f"{incident.id}/police-report/?format=docx")
    # another organization's supervisor: not found
    stranger = UserFactory(role=Role.SUPERVISOR, organization=OrganizationWithout(), is_staff=True)
    sync_role_group(stranger)
    other = Client()
    other.force_login(stranger)
    assert other.get(f"/admin/stats/massincident/{incident.id}/evidence-pack/").status_code == 404
    assert other.get(f"/admin/stats/massincident/{incident.id}/police-report/").status_code == 404
