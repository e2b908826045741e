import io
import os
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import docx
import openpyxl
import pytest
from django.utils import timezone

from cases.codes import DisputeType, ProductType, Status
from kameng_api.core.roles import Role
from stats.models import MassIncident, QuarterlyReport
from stats.reports import last_quarter, previous_period
from stats.services import stats_rebuild
from stats.tasks import quarterly_report
from tests.factories import PlatformFactory
from tests.helpers import assert_error

from .conftest import at, make_case

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/report/"
Q2 = {"from": "2025-04-01", "to": "2025-06-30"}  # previous period: the previous quarter, 2025-01-01 … 03-31
SHEETS = ["概览", "平台排名", "争议类型", "响应与解决", "处理时长", "金额", "升级层级", "群体投诉", "典型案例"]


@pytest.fixture
def quarter(org, settings):
    """星辰卡盟: 10 complaints in Q1 (game cards), 41 in Q2 (mostly delivery delays); 极速卡盟: 3 in Q2."""
    settings.KAMENG_STATS_MIN_SAMPLE = 10
    star, fast = PlatformFactory(name="星辰卡盟"), PlatformFactory(name="极速卡盟")
    cases = []
    for i in range(10):
        cases.append(make_case(organization=org, platform=star, created_at=at(2025, 2, 1 + i),
                               dispute_type=DisputeType.INVALID_CODE))
    for i in range(41):
        dispute = DisputeType.DELIVERY_DELAY if i < 30 else DisputeType.REFUND_REFUSED
        status = Status.RESOLVED if i % 2 else Status.REJECTED
        cases.append(make_case(organization=org, platform=star, created_at=at(2025, 5, 1 + i % 28), status=status,
                               outcome="favourable" if status == Status.RESOLVED else "",
                               closed_after=timedelta(hours=10 + i), dispute_type=dispute,
                               product_type=ProductType.PHONE_RECHARGE, amount_paid=Decimal("50.00") + i,
                               amount_recovered=Decimal("20.00") if status == Status.RESOLVED else None))
    for i in range(3):
        cases.append(make_case(organization=org, platform=fast, created_at=at(2025, 6, 2 + i)))
    incident = MassIncident.objects.create(
        platform=star, day=date(2025, 5, 3), window_start=at(2025, 5, 2), window_end=at(2025, 5, 3),
        count=12, baseline_mean=0.5, baseline_stddev=0.3, threshold=10)
    incident.cases.set(cases[10:22])
    stats_rebuild()
    return star, fast, cases


def test_json_figures_and_the_main_changes(analyst, quarter):
    star, fast, _cases = quarter
    body = analyst.get(URL, Q2).json()
    assert body["previous_period"] == {"from": "2025-01-01", "to": "2025-03-31"}
    assert body["overview"]["complaints"] == 44 and body["overview"]["previous_complaints"] == 10
    star_row = next(r for r in body["ranking"] if r["platform"]["id"] == star.id)
    assert star_row["rank"] == 1 and star_row["change"] == 3.1 and star_row["main_dispute_type"] == "delivery_delay"
    fast_row = next(r for r in body["ranking"] if r["platform"]["id"] == fast.id)
    assert fast_row["rank"] is None  # 3 complaints: below the minimum sample
    assert body["main_changes"][1] == "对星辰卡盟平台的投诉环比增长 310%（10 → 41），主要为超48小时未到账。"
    group = body["group_complaints"][0]
    assert group["cases"] == 12 and group["victims"] == 12
    assert Decimal(group["amount_disputed"]) == sum(Decimal("50.00") + i for i in range(12))
    platforms = analyst.get("/api/v1/stats/platforms/", {**Q2, "page_size": 100}).json()["results"]
    same = next(r for r in platforms if r["platform"]["id"] == star.id)
    assert same["complaints"] == star_row["complaints"]
    assert same["resolution_rate"] == star_row["resolution_rate"]


def test_xlsx_report_has_its_sheets_charts_and_figures(analyst, quarter):
    star, _fast, _cases = quarter
    response = analyst.get(URL, {**Q2, "format": "xlsx"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == SHEETS
    ranking = [list(r) for r in book["平台排名"].iter_rows(min_row=5, values_only=True)]
    assert ranking[0][:5] == ["星辰卡盟", 1, 41, 10, pytest.approx(3.1)]
    assert ranking[1][1] == "not ranked (n=3)" or ranking[1][1].startswith("未排名")
    overview = [list(r) for r in book["概览"].iter_rows(values_only=True)]
    assert ["投诉量", 44, 10, pytest.approx(3.4)] in [r[:4] for r in overview]
    assert any(r[0] == "对星辰卡盟平台的投诉环比增长 310%（10 → 41），主要为超48小时未到账。" for r in overview)
    disputes = {r[0]: r[1:4] for r in book["争议类型"].iter_rows(min_row=5, values_only=True)}
    assert disputes["超48小时未到账"][:2] == (30, 0) and disputes["卡密无效/激活失败"][:2] == (3, 10)
    assert len(disputes) == len(DisputeType)
    rates = [list(r) for r in book["响应与解决"].iter_rows(min_row=5, values_only=True)]
    fast_rates = next(r for r in rates if r[0] == "极速卡盟")
    assert fast_rates[1] == "样本不足 (n=0)"
    # native charts inside the file (rendered by Excel / WPS / LibreOffice, not by the server)
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sum(1 for n in names if n.startswith("xl/charts/chart")) >= 8


def test_docx_report_states_the_main_changes(analyst, quarter):
    response = analyst.get(URL, {**Q2, "format": "docx"})
    assert response.status_code == 200, response.content
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "对星辰卡盟平台的投诉环比增长 310%（10 → 41），主要为超48小时未到账。" in text
    assert "本期受理投诉 44 件，环比增长 340%。" in text
    assert len(document.tables) >= 4
    english = docx.Document(io.BytesIO(analyst.get(URL, {**Q2, "format": "docx", "lang": "en"}).content))
    text = "\n".join(p.text for p in english.paragraphs)
    assert "Complaints about 星辰卡盟 grew 310% on the previous period (10 → 41), mostly Delivery delay." in text


def test_no_personal_data_in_any_report(analyst, quarter):
    _star, _fast, cases = quarter
    texts = [analyst.get(URL, Q2).content.decode()]
    for lang in ("zh", "en"):
        book = openpyxl.load_workbook(io.BytesIO(analyst.get(URL, {**Q2, "format": "xlsx", "lang": lang}).content))
        texts.append("\n".join(str(v) for s in book.worksheets for r in s.iter_rows(values_only=True)
                               for v in r if v is not None))
        document = docx.Document(io.BytesIO(analyst.get(URL, {**Q2, "format": "docx", "lang": lang}).content))
        texts.append("\n".join([p.text for p in document.paragraphs]
                               + [c.text for t in document.tables for row in t.rows for c in row.cells]))
    for case in cases:
        for secret in (case.consumer.name, case.consumer.phone, case.consumer.id_number, case.order_number,
                       case.reference):
            assert all(secret not in text for text in texts), secret


@pytest.mark.parametrize("params, attr", [
    ({"from": "2025-06-30", "to": "2025-04-01"}, "from"),
    ({"from": "not-a-date"}, "from"),
    ({"lang": "de"}, "lang"),
    ({"format": "pdf"}, "format"),
    ({"format": "xlsx", "to": "2025-13-40"}, "to"),
])
def test_bad_parameters_are_400(analyst, params, attr):
    assert_error(analyst.get(URL, params), 400, attr=attr)


@pytest.mark.parametrize("role, status", [(Role.INTAKE, 403), (Role.HANDLER, 403), (Role.SUPERVISOR, 200)])
def test_same_access_as_platform_statistics(user_client, role, status):
    client = user_client(role)
    assert client.get(URL, {"format": "xlsx"}).status_code == status
    assert client.get("/api/v1/stats/reports/").status_code == status


def test_quarter_helpers():
    assert last_quarter(date(2025, 7, 1)) == (date(2025, 4, 1), date(2025, 6, 30))
    assert last_quarter(date(2025, 1, 15)) == (date(2024, 10, 1), date(2024, 12, 31))
    assert previous_period(date(2025, 4, 1), date(2025, 6, 30)) == (date(2025, 1, 1), date(2025, 3, 31))
    assert previous_period(date(2025, 3, 1), date(2025, 3, 31)) == (date(2025, 2, 1), date(2025, 2, 28))
    assert previous_period(date(2025, 1, 1), date(2025, 12, 31)) == (date(2024, 1, 1), date(2024, 12, 31))
    assert previous_period(date(2025, 3, 10), date(2025, 3, 19)) == (date(2025, 2, 28), date(2025, 3, 9))


def test_the_quarterly_task_keeps_the_report_for_download(analyst, user_client, other_org, quarter, settings,
                                                          monkeypatch, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(timezone, "localdate", lambda *a: date(2025, 7, 1))
    ids = quarterly_report.apply().get()
    assert len(ids) == QuarterlyReport.objects.count() >= 2  # one per organization
    assert "stats-quarterly-report" in settings.CELERY_BEAT_SCHEDULE
    listing = analyst.get("/api/v1/stats/reports/").json()["results"]
    assert len(listing) == 1 and listing[0]["first_day"] == "2025-04-01" and listing[0]["last_day"] == "2025-06-30"
    response = analyst.get(listing[0]["xlsx_url"])
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == SHEETS
    response = analyst.get(listing[0]["docx_url"])
    assert "对星辰卡盟平台的投诉环比增长 310%" in "\n".join(
        p.text for p in docx.Document(io.BytesIO(b"".join(response.streaming_content))).paragraphs)
    # another organization's analyst neither lists nor downloads it
    stranger = user_client(Role.ANALYST, organization=other_org)
    assert all(r["id"] != listing[0]["id"] for r in stranger.get("/api/v1/stats/reports/").json()["results"])
    assert_error(stranger.get(listing[0]["xlsx_url"]), 404)
    # preparing again replaces the report instead of adding one
    quarterly_report.apply().get()
    assert QuarterlyReport.objects.count() == len(ids)


@pytest.mark.skipif(not shutil.which("libreoffice") and os.environ.get("CI") != "true",
                    reason="LibreOffice is not installed (.ci/run installs it)")
def test_libreoffice_opens_the_report(analyst, quarter, tmp_path):
    """As an analyst would: LibreOffice opens the workbook and the narrative (rendered to PDF), and reads the
    ranking sheet's Chinese names and numbers."""
    (tmp_path / "report.xlsx").write_bytes(analyst.get(URL, {**Q2, "format": "xlsx"}).content)
    (tmp_path / "report.docx").write_bytes(analyst.get(URL, {**Q2, "format": "docx"}).content)
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    for name in ("report.xlsx", "report.docx"):
        subprocess.run(["libreoffice", profile, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
                        str(tmp_path / name)], check=True, capture_output=True, timeout=180)
    assert (tmp_path / "pdf" / "report.pdf").stat().st_size > 5000
    subprocess.run(["libreoffice", profile, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2",
                    "--outdir", str(tmp_path / "csv"), str(tmp_path / "report.xlsx")],
                   check=True, capture_output=True, timeout=180)
    ranking = (tmp_path / "csv" / "report-平台排名.csv").read_text("utf-8")
    assert "星辰卡盟,1,41,10" in ranking


def test_a_report_whose_file_is_gone_is_404_not_500(analyst, org, settings, tmp_path):
    from stats.reports import report_prepare

    settings.MEDIA_ROOT = str(tmp_path)
    report = report_prepare(date_from=date(2025, 4, 1), date_to=date(2025, 6, 30), organization_id=org.id)
    assert analyst.get(f"/api/v1/stats/reports/{report.id}/docx/").status_code == 200
    report.xlsx.storage.delete(report.xlsx.name)
    assert_error(analyst.get(f"/api/v1/stats/reports/{report.id}/xlsx/"), 404)
    assert_error(analyst.get("/api/v1/stats/reports/999999/xlsx/"), 404)
    assert analyst.get(f"/api/v1/stats/reports/{report.id}/pdf/").status_code == 404
