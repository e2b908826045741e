import csv
import io
import os
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest
from django.utils import translation

from cases.codes import DisputeType, ProductType, Status
from kameng_api.core.roles import Role
from stats.services import stats_rebuild
from tests.factories import PlatformFactory
from tests.helpers import assert_error

from .conftest import at, make_case

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/platforms/"
PERIOD = {"from": "2025-03-01", "to": "2025-03-05"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_xlsx(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r[0] in ("平台编号", "Platform ID", "platform.id", "开始日期", "Period start"))
    header = rows[head]
    return header, [dict(zip(header, r, strict=True)) for r in rows[head + 1:]], sheet, head


def read_csv(response):
    assert response.status_code == 200, response.content
    assert response.content.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    header = next(reader)
    return header, [dict(zip(header, r, strict=True)) for r in reader]


@pytest.fixture
def data(org, populate, settings):
    settings.KAMENG_STATS_MIN_SAMPLE = 10
    big, small = PlatformFactory(name="星辰卡盟"), PlatformFactory(name="极速卡盟")
    cases = populate(big, n=40, seed=3) + populate(small, n=7, seed=4)
    stats_rebuild()
    return big, small, cases


def test_xlsx_figures_equal_the_json_endpoint(analyst, data):
    big, small, _cases = data
    body = analyst.get(URL, {**PERIOD, "page_size": 100}).json()
    header, rows, sheet, head = read_xlsx(analyst.get(URL, {**PERIOD, "format": "xlsx"}))
    assert "平台" in header and "投诉量" in header
    for platform in (big, small):
        expected = next(r for r in body["results"] if r["platform"]["id"] == platform.id)
        row = next(r for r in rows if r["平台"] == platform.name)
        assert row["投诉量"] == expected["complaints"]
        assert isinstance(row["投诉量"], int)
        assert row["状态：已撤回"] == expected["by_status"]["withdrawn"]
        assert row["争议类型：卡密无效/激活失败"] == expected["by_dispute_type"].get("invalid_code", 0)
        assert row["争议类型：功能缺失"] == 0  # never occurred, still a column
        assert row["涉案金额（元）"] == pytest.approx(float(Decimal(expected["amount_disputed"])))
        rate = expected["resolution_rate"]
        assert row["解决率 分子"] == rate["numerator"] and row["解决率 分母"] == rate["denominator"]
        if rate["value"] is None:
            assert row["解决率 (%)"] == f"样本不足 (n={rate['denominator']})"
        else:
            assert row["解决率 (%)"] == pytest.approx(rate["value"])
        median = expected["resolution_minutes"]
        if median["median"] is None:
            assert row["解决用时 中位数（分钟）"] == f"样本不足 (n={median['count']})"
        else:
            assert row["解决用时 中位数（分钟）"] == pytest.approx(median["median"])
    # percentages are numbers formatted as percent
    col = header.index("解决率 (%)") + 1
    big_row = head + 2 + [r["平台"] for r in rows].index(big.name)
    assert sheet.cell(big_row, col).number_format == "0.0%"
    # the small platform's rate is withheld and shown as text
    small_row = next(r for r in rows if r["平台"] == small.name)
    assert small_row["解决率 (%)"].startswith("样本不足 (n=")


@pytest.mark.parametrize("period", [
    PERIOD,
    {"from": "2024-12-15", "to": "2025-03-30"},  # whole months, edge days added and subtracted
    {"from": "2025-02-02", "to": "2025-03-30", "dispute_type": "invalid_code"},
])
def test_product_type_columns_equal_filtered_json(analyst, data, period):
    big, _small, _cases = data
    header, rows = read_csv(analyst.get(URL, {**period, "format": "csv"}))
    row = next(r for r in rows if r["平台"] == big.name)
    total = 0
    for product in ProductType:
        body = analyst.get(URL, {**period, "product_type": product.value, "page_size": 100}).json()
        expected = next(r for r in body["results"] if r["platform"]["id"] == big.id)["complaints"]
        label = str(product.label) if product.value != "game_card" else "游戏点卡"
        column = next(h for h in header if h.startswith("商品类型：") and h.endswith(label.split(" (")[0])) \
            if product.value != "game_card" else "商品类型：游戏点卡"
        assert int(row[column]) == expected
        total += expected
    assert total == int(row["投诉量"])


def test_columns_are_the_same_whatever_the_period_holds(analyst, data, org):
    other = PlatformFactory(name="月光卡盟")
    make_case(organization=org, platform=other, created_at=at(2024, 6, 2), dispute_type=DisputeType.FRAUD,
              product_type=ProductType.MEMBERSHIP)
    stats_rebuild()
    layouts = []
    for period in (PERIOD, {"from": "2024-06-01", "to": "2024-06-30"}, {"from": "2019-01-01", "to": "2019-01-02"}):
        for fmt in ("csv", "xlsx"):
            for lang in ("zh", "en"):
                response = analyst.get(URL, {**period, "format": fmt, "lang": lang})
                header = read_csv(response)[0] if fmt == "csv" else read_xlsx(response)[0]
                layouts.append((fmt, lang, tuple(header)))
    for fmt in ("csv", "xlsx"):
        for lang in ("zh", "en"):
            assert len({h for f, g, h in layouts if f == fmt and g == lang}) == 1
    header = layouts[0][2]
    expected_count = 2 + 1 + len(Status) + len(DisputeType) + len(ProductType)
    assert len(header) > expected_count
    dispute_headers = [h for h in header if h.startswith("争议类型：")]
    assert len(dispute_headers) == len(DisputeType)
    with translation.override("zh-hans"):
        assert [h for h in header if h.startswith("状态：")] == [f"状态：{s.label}" for s in Status]
        assert dispute_headers == [f"争议类型：{d.label}" for d in DisputeType]
        assert [h for h in header if h.startswith("商品类型：")] == [f"商品类型：{p.label}" for p in ProductType]


def test_english_headers_and_withheld_text(analyst, data):
    _big, small, _cases = data
    body = analyst.get(URL, {**PERIOD, "page_size": 100}).json()
    closed = next(r for r in body["results"] if r["platform"]["id"] == small.id)["resolution_rate"]["denominator"]
    assert closed < 10
    header, rows, _sheet, _head = read_xlsx(analyst.get(URL, {**PERIOD, "format": "xlsx", "lang": "en"}))
    assert "Platform" in header and "Complaints" in header and "Dispute type: Fraud" in header
    row = next(r for r in rows if r["Platform"] == small.name)
    assert row["Resolution rate (%)"] == f"insufficient sample (n={closed})"
    header, rows = read_csv(analyst.get(URL, {**PERIOD, "format": "csv", "lang": "en"}))
    row = next(r for r in rows if r["Platform"] == small.name)
    assert row["Resolution rate (%)"] == f"insufficient sample (n={closed})"


def test_csv_human_headers_percent_and_codes_for_scripts(analyst, data):
    big, _small, _cases = data
    body = analyst.get(URL, {**PERIOD, "page_size": 100}).json()
    expected = next(r for r in body["results"] if r["platform"]["id"] == big.id)
    _header, rows = read_csv(analyst.get(URL, {**PERIOD, "format": "csv"}))
    row = next(r for r in rows if r["平台"] == big.name)
    rate = expected["resolution_rate"]
    assert float(row["解决率 (%)"]) == pytest.approx(rate["value"] * 100, abs=0.005)
    assert int(row["解决率 分母"]) == rate["denominator"]
    header, rows = read_csv(analyst.get(URL, {**PERIOD, "format": "csv", "headers": "codes"}))
    assert "by_status.collecting_evidence" in header and "by_dispute_type.unfair_terms" in header
    row = next(r for r in rows if r["platform.name"] == big.name)
    assert float(row["resolution_rate.value"]) == rate["value"]
    assert row["resolution_rate.withheld_reason"] == ""
    assert int(row["by_dispute_type.fraud"]) == 0


def test_exports_carry_no_personal_data(analyst, data):
    big, _small, cases = data
    texts = []
    for params in ({"format": "csv"}, {"format": "csv", "lang": "en"}, {"format": "csv", "headers": "codes"}):
        texts.append(analyst.get(URL, {**PERIOD, **params}).content.decode("utf-8-sig"))
        texts.append(analyst.get(f"{URL}{big.id}/trend/", {**PERIOD, **params}).content.decode("utf-8-sig"))
    for params in ({"format": "xlsx"}, {"format": "xlsx", "lang": "en"}):
        for url in (URL, f"{URL}{big.id}/trend/"):
            book = openpyxl.load_workbook(io.BytesIO(analyst.get(url, {**PERIOD, **params}).content))
            texts.append("\n".join(str(v) for s in book.worksheets for r in s.iter_rows(values_only=True)
                                   for v in r if v is not None))
    for case in cases:
        for secret in (case.consumer.name, case.consumer.phone, case.consumer.id_number, case.order_number,
                       case.reference):
            assert all(secret not in text for text in texts), secret


def test_trend_xlsx_has_every_period_and_the_json_figures(analyst, data):
    big, _small, _cases = data
    body = analyst.get(f"{URL}{big.id}/trend/", {**PERIOD, "interval": "week"}).json()
    header, rows, _sheet, _head = read_xlsx(
        analyst.get(f"{URL}{big.id}/trend/", {**PERIOD, "interval": "week", "format": "xlsx"}))
    assert len(rows) == len(body["results"])
    for point, row in zip(body["results"], rows, strict=True):
        assert row["开始日期"] == point["start"] and row["投诉量"] == point["complaints"]


@pytest.mark.parametrize("params, attr", [
    ({"format": "xlsx", "lang": "fr"}, "lang"),
    ({"format": "csv", "headers": "pretty"}, "headers"),
    ({"format": "xlsx", "from": "2025-02-30"}, "from"),
    ({"format": "pdf"}, "format"),
])
def test_bad_parameters_are_400_in_the_error_format(analyst, params, attr):
    response = analyst.get(URL, params)
    if params["format"] == "csv":
        assert response.status_code == 400 and b"headers" in response.content
    else:
        assert_error(response, 400, attr=attr)


@pytest.mark.parametrize("role, status", [(Role.INTAKE, 403), (Role.HANDLER, 403), (Role.ANALYST, 200)])
def test_intake_cannot_download(user_client, role, status):
    response = user_client(role).get(URL, {"format": "xlsx"})
    assert response.status_code == status
    if status == 403:
        assert_error(response, 403)


@pytest.mark.skipif(not shutil.which("libreoffice") and os.environ.get("CI") != "true",
                    reason="LibreOffice is not installed (.ci/run installs it)")
def test_libreoffice_reads_the_csv_as_utf8_and_the_xlsx_as_numbers(analyst, data, tmp_path):
    """LibreOffice's CSV import with the UTF-8 character set (what its import dialog offers for a file with
    a BOM) and its XLSX import: Chinese text intact, counts and rates as numbers, withheld rates as text."""
    big, small, _cases = data
    (tmp_path / "stats.csv").write_bytes(analyst.get(URL, {**PERIOD, "format": "csv"}).content)
    (tmp_path / "book.xlsx").write_bytes(analyst.get(URL, {**PERIOD, "format": "xlsx"}).content)
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    subprocess.run(["libreoffice", profile, "--headless", "--infilter=CSV:44,34,76,1", "--convert-to", "ods",
                    "--outdir", str(tmp_path), str(tmp_path / "stats.csv")],
                   check=True, capture_output=True, timeout=180)
    subprocess.run(["libreoffice", profile, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                    "--outdir", str(tmp_path / "out"), str(tmp_path / "book.xlsx"), str(tmp_path / "stats.ods")],
                   check=True, capture_output=True, timeout=180)
    for name in ("book.csv", "stats.csv"):
        rows = list(csv.reader(io.StringIO((tmp_path / "out" / name).read_text("utf-8-sig"))))
        head = next(i for i, r in enumerate(rows) if r and r[0] == "平台编号")
        header = rows[head]
        assert "平台" in header and "投诉量" in header
        by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows[head + 1:]}
        assert int(by_name[big.name]["投诉量"]) == 40
        assert by_name[small.name]["解决率 (%)"].startswith("样本不足 (n=")
    xlsx_rows = list(csv.reader(io.StringIO((tmp_path / "out" / "book.csv").read_text("utf-8-sig"))))
    assert any(cell.endswith("%") for row in xlsx_rows for cell in row)  # rates shown as percentages


def _json_value(row: dict, code: str):
    value = row
    for part in code.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("params", [
    PERIOD,
    {"from": "2025-02-20", "to": "2025-03-03", "dispute_type": "delivery_delay"},
    {"from": "2025-03-01", "to": "2025-03-31", "product_type": "phone_recharge"},
    {"from": "2025-01-01", "to": "2025-12-31"},
])
@pytest.mark.parametrize("national", [False, True])
def test_every_cell_of_the_files_equals_the_json(analyst, data, org, other_org, populate, settings, params, national):
    """Every figure column of the XLSX (labels) and of the CSV (codes) against the JSON of the same request."""
    from stats.exports import PLATFORM_COLUMNS, codes_columns, columns

    populate(data[0], n=12, seed=9, organization=other_org)
    stats_rebuild()
    if national:
        settings.KAMENG_STATS_SCOPE = "national"
    body = analyst.get(URL, {**params, "page_size": 100}).json()
    expected = {r["platform"]["name"]: r for r in body["results"]}
    _header, csv_rows = read_csv(analyst.get(URL, {**params, "format": "csv", "headers": "codes"}))
    header, xlsx_rows, _sheet, _head = read_xlsx(analyst.get(URL, {**params, "format": "xlsx"}))
    cols = columns(PLATFORM_COLUMNS, merchants=False)
    with translation.override("zh-hans"):
        labels = {c.code: str(c.header) for c in cols}
    assert [labels[c.code] for c in cols] == header[:len(cols)]
    checked = 0
    for name, row in expected.items():
        csv_row = next(r for r in csv_rows if r["platform.name"] == name)
        xlsx_row = next(r for r in xlsx_rows if r["平台"] == name)
        for column in codes_columns(cols):
            if column.code.startswith(("by_product_type.", "platform.")):
                continue
            value = _json_value(row, column.code)
            if column.code.startswith("by_dispute_type."):
                value = value or 0
            text = csv_row[column.code]
            if value is None:
                assert text == "", column.code
            elif isinstance(value, str) and column.kind != "money":
                assert text == value, column.code
            else:
                assert float(text) == pytest.approx(float(value)), column.code
            if column.code in labels:
                cell = xlsx_row[labels[column.code]]
                group = _json_value(row, column.code.rpartition(".")[0]) if "." in column.code else None
                if value is None and isinstance(group, dict) and group.get("withheld_reason"):
                    n = group.get("denominator", group.get("count"))
                    assert cell == f"样本不足 (n={n})", column.code
                elif value is None:
                    assert cell is None, column.code
                else:
                    assert cell == pytest.approx(float(value)), column.code
            checked += 1
    assert checked > 100
