"""Blank templates a clerk downloads (issue 11, item 6): XLSX with headers, one example row,
dropdowns for coded columns and a notes sheet in the reader's language; CSV likewise; and
the downloaded file, filled in, imports."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from kechuang.ingest.template_files import CODES_SHEET, DATA_SHEET, NOTES_SHEET
from tests.ingest.helpers import U1


def _xlsx(client, name: str, lang: str | None = None):  # type: ignore[no-untyped-def]
    if lang:
        client.cookies.set("kc_lang", lang)
    r = client.get(f"/import-templates/{name}.xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f'filename="template-{name}.xlsx"' in r.headers["content-disposition"]
    return load_workbook(io.BytesIO(r.content))


def _notes_text(wb) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(" ".join(str(c) for c in row if c is not None)
                     for row in wb[NOTES_SHEET].iter_rows(values_only=True))


def test_the_xlsx_has_headers_an_example_row_a_dropdown_and_notes(client, login_as):
    login_as("admin")
    wb = _xlsx(client, "kjj-qual")
    assert wb.sheetnames == [DATA_SHEET, CODES_SHEET, NOTES_SHEET]
    data = wb[DATA_SHEET]
    header = [c.value for c in data[1]]
    assert header[0] == "统一社会信用代码" and "研发机构级别" in header
    example = [c.value for c in data[2]]
    assert example[0] and len(str(example[0])) == 18
    assert data.max_row == 2  # one example row, nothing else
    level = header.index("研发机构级别")
    letter = data.cell(1, level + 1).column_letter
    [dv] = [dv for dv in data.data_validations.dataValidation if letter + "2" in str(dv.sqref)]
    assert dv.type == "list"
    codes_col = str(dv.formula1).split("!")[1].split(":")[0].replace("$", "")[0]
    choices = [c.value for c in wb[CODES_SHEET][codes_col][1:]]
    assert choices == ["无", "市级", "省级", "国家级"]
    assert example[level] in choices
    # the yes/no column has its dropdown too
    flag = header.index("主要产品技术属于国家重点支持的高新技术领域")
    flag_letter = data.cell(1, flag + 1).column_letter
    assert any(flag_letter + "2" in str(v.sqref) for v in data.data_validations.dataValidation)
    notes = _notes_text(wb)
    assert "缺失与零" in notes and "留空" in notes and "填写 0" in notes
    assert "研发机构级别" in notes and "Missing versus zero" not in notes


def test_the_notes_follow_the_interface_language(client, login_as):
    login_as("admin")
    wb = _xlsx(client, "tax", lang="en")
    notes = _notes_text(wb)
    assert "Missing versus zero" in notes and "write 0" in notes
    assert "Revenue" in notes or "revenue" in notes.lower()
    assert "10,000 yuan" in notes


def test_the_long_template_offers_its_metrics_as_a_dropdown(client, login_as):
    login_as("admin")
    wb = _xlsx(client, "ip")
    data = wb[DATA_SHEET]
    assert [c.value for c in data[1]] == ["统一社会信用代码", "年度", "指标", "数值"]
    [dv] = list(data.data_validations.dataValidation)
    assert "C2" in str(dv.sqref)
    choices = [c.value for c in wb[CODES_SHEET]["A"][1:]]
    assert "有效发明专利" in choices and data["C2"].value in choices


def test_the_csv_template_has_the_header_and_one_example_row(client, login_as):
    login_as("tax")
    r = client.get("/import-templates/tax.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2 and rows[0][:2] == ["统一社会信用代码", "年度"]
    assert "营业收入（万元）" in rows[0] and len(rows[1]) == len(rows[0])


def test_a_department_downloads_only_its_own_templates(client, login_as):
    login_as("tax")
    assert client.get("/import-templates/kjj-qual.xlsx").status_code == 404
    assert client.get("/import-templates/market.csv").status_code == 404


def test_a_downloaded_template_filled_in_imports(client, login_as):
    csrf = login_as("tax")
    r = client.get("/import-templates/tax.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    rows[1][0] = U1
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    up = client.post("/imports", data={"template": "tax", "csrf_token": csrf},
                     files={"file": ("filled.csv", buf.getvalue().encode(), "text/csv")})
    assert up.status_code == 200, up.text
    assert 'data-testid="import-summary"' in up.text


def test_the_template_pages_link_the_downloads(client, login_as):
    login_as("staff")
    page = client.get("/import-templates").text
    assert 'href="/import-templates/tax.xlsx"' in page
    assert 'href="/import-templates/tax.csv"' in page
    one = client.get("/import-templates/tax").text
    assert 'data-testid="download-xlsx"' in one


def test_a_downloaded_xlsx_filled_in_imports(client, login_as):
    """The codes and notes sheets of the blank workbook are not read as data."""
    csrf = login_as("admin")
    wb = _xlsx(client, "kjj-qual")
    ws = wb[DATA_SHEET]
    ws["A2"] = U1
    buf = io.BytesIO()
    wb.save(buf)
    up = client.post("/imports", data={"template": "kjj-qual", "csrf_token": csrf},
                     files={"file": ("filled.xlsx", buf.getvalue(), "application/octet-stream")})
    assert up.status_code == 200, up.text[up.text.find("problems"):][:3000]
    assert 'data-testid="import-summary"' in up.text
