"""The upload pages and the JSON API through the real app: problems on screen and as XLSX,
success, dry run, rollback, template editing, and who may see what."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from kechuang.ingest.template_store import builtin_templates
from tests.ingest.helpers import GOOD_ROWS, TAX_HEADER, U1, U2, csv_bytes

BAD = csv_bytes([TAX_HEADER, [U1, 2023, "一百", "", ""], [U2, 2023, 5, "", "2.5"]])


def upload(client, csrf, data, template="tax", name="f.csv", **flags):  # type: ignore[no-untyped-def]
    form = {"template": template, "csrf_token": csrf, **{k: "true" for k, v in flags.items() if v}}
    return client.post("/imports", data=form, files={"file": (name, data, "text/csv")})


def test_upload_form_follows_the_contract(client, login_as):
    login_as("staff")
    page = client.get("/imports/new").text
    assert '<input type="file" name="file"' in page
    options = re.findall(r'<option value="([^"]+)"', page)
    assert {"tax", "market", "ip", "kjj"} <= set(options)
    for name in ("dry_run", "valid_rows_only"):
        assert f'type="checkbox" name="{name}"' in page
    assert 'data-testid="import-submit"' in page


def test_upload_with_errors_shows_every_problem_and_the_xlsx(client, login_as):
    csrf = login_as("staff")
    r = upload(client, csrf, BAD)
    assert r.status_code == 422
    assert 'data-testid="import-result"' in r.text and 'data-testid="problems"' in r.text
    assert 'data-testid="import-summary"' not in r.text
    table = r.text.split('data-testid="problems"')[1]
    for head in ("工作表", "行", "列", "值", "原因"):
        assert f"<th>{head}</th>" in table
    assert "应为数字，实为文本“一百”" in table and "应为整数" in table
    link = re.search(r'<a [^>]*data-testid="problems-xlsx" href="([^"]+)"', r.text)
    assert link
    xlsx = client.get(link.group(1))
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == [2, 3]
    assert "暂无导入批次" in client.get("/imports").text  # nothing imported


def test_successful_upload_dry_run_and_rollback(client, login_as):
    csrf = login_as("staff")
    r = upload(client, csrf, csv_bytes(GOOD_ROWS), dry_run=True)
    assert r.status_code == 200 and 'data-testid="import-summary"' in r.text
    assert "试导入" in r.text and 'href="/imports/1"' not in r.text
    r = upload(client, csrf, csv_bytes(GOOD_ROWS))
    assert r.status_code == 200 and 'data-testid="import-summary"' in r.text
    assert re.search(r'data-testid="facts-new">5<', r.text)
    changed = csv_bytes([TAX_HEADER, [U1, 2023, "1300", "120000", 35]])
    r = upload(client, csrf, changed, dry_run=True)
    assert 'data-testid="changes"' in r.text and "1234.5" in r.text and "1300" in r.text
    detail = client.get("/imports/1")
    assert 'data-testid="batch-sample"' in detail.text and "张家港华芯微电子有限公司" in detail.text
    r = client.post("/imports/1/rollback", data={"csrf_token": csrf})
    assert r.status_code == 200 and 'data-testid="rollback-done"' in r.text
    assert "已回滚" in client.get("/imports").text
    r = client.post("/imports/1/rollback", data={"csrf_token": csrf})
    assert r.status_code == 409


def test_upload_without_csrf_is_refused(client, login_as):
    login_as("staff")
    r = client.post("/imports", data={"template": "tax"},
                    files={"file": ("f.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    assert r.status_code == 403


def test_department_sees_its_templates_and_uploads_only(client, login_as, engine):
    from fastapi.testclient import TestClient

    from kechuang.app import create_app
    from tests.conftest import login

    with TestClient(create_app(engine)) as staff:
        csrf_staff = login(staff, "staff")
        assert upload(staff, csrf_staff, csv_bytes(GOOD_ROWS)).status_code == 200  # batch 1
    csrf = login_as("tax")
    page = client.get("/imports/new").text
    assert set(re.findall(r'<option value="([^"]+)"', page)) == {"tax"}
    assert upload(client, csrf, csv_bytes([["统一社会信用代码", "年度", "指标", "数值"]]),
                  template="ip").status_code == 404
    assert client.get("/imports/1").status_code == 404
    own = csv_bytes([TAX_HEADER, [U1, 2022, 1, "", ""]])
    assert upload(client, csrf, own).status_code == 200
    listing = client.get("/imports").text
    assert 'href="/imports/2"' in listing and 'href="/imports/1"' not in listing
    assert client.get("/import-templates/ip").status_code == 404
    assert client.get("/import-templates/tax").status_code == 200


def test_other_county_and_other_roles_are_kept_out(client, login_as, engine):
    csrf = login_as("staff")
    r = upload(client, csrf, BAD)
    report = re.search(r'href="(/import-reports/\d+\.xlsx)"', r.text).group(1)  # type: ignore[union-attr]
    upload(client, csrf, csv_bytes(GOOD_ROWS))
    client.post("/logout", data={"csrf_token": csrf})
    login_as("other_admin")
    assert client.get("/imports/1").status_code == 404
    assert client.get(report).status_code == 404
    assert 'href="/imports/1"' not in client.get("/imports").text
    client.cookies.clear()
    login_as("ent1")
    assert client.get("/imports").status_code == 403
    assert client.get("/api/v1/imports").status_code == 403


def test_template_edit_validates_and_only_admin_saves(client, login_as):
    csrf = login_as("admin")
    page = client.get("/import-templates/tax")
    assert 'name="yaml"' in page.text
    broken = builtin_templates()["tax"].yaml_text.replace("layout: wide", "layout: wide\nlayuot: x")
    r = client.post("/import-templates/tax", data={"yaml": broken, "csrf_token": csrf})
    assert r.status_code == 422 and 'data-testid="template-errors"' in r.text
    assert "第6行" in r.text and "layuot" in r.text
    assert "已编辑" not in client.get("/import-templates").text
    good = builtin_templates()["tax"].yaml_text.replace("title: 税务局 · 企业所得税年度申报",
                                                         "title: 税务局 · 所得税（已修订）")
    r = client.post("/import-templates/tax", data={"yaml": good, "csrf_token": csrf})
    assert r.status_code == 200 and 'data-testid="template-saved"' in r.text
    assert "所得税（已修订）" in client.get("/import-templates").text
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login_as("staff")
    assert 'name="yaml"' not in client.get("/import-templates/tax").text
    r = client.post("/import-templates/tax", data={"yaml": good, "csrf_token": csrf})
    assert r.status_code == 403


def test_json_api_upload_list_and_detail(client, login_as):
    csrf = login_as("staff")
    headers = {"X-CSRF-Token": csrf}
    r = client.post("/api/v1/imports", data={"template": "tax"}, headers=headers,
                    files={"file": ("bad.csv", BAD, "text/csv")})
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False and body["problem_count"] == 2
    assert body["problems"][0] == {"sheet": "CSV", "row": 2, "column": "营业收入（万元）",
                                   "letter": "C", "value": "一百",
                                   "reason": "应为数字，实为文本“一百”"}
    r = client.post("/api/v1/imports", data={"template": "tax", "dry_run": "true"},
                    headers=headers, files={"file": ("ok.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    assert r.status_code == 200 and r.json()["facts_new"] == 5 and r.json()["batch_id"] is None
    r = client.post("/api/v1/imports", data={"template": "tax"}, headers=headers,
                    files={"file": ("ok.csv", csv_bytes(GOOD_ROWS), "text/csv")})
    batch_id = r.json()["batch_id"]
    assert [b["id"] for b in client.get("/api/v1/imports").json()] == [batch_id]
    detail = client.get(f"/api/v1/imports/{batch_id}").json()
    assert detail["facts_new"] == 5 and detail["status"] == "committed"
    assert client.get("/api/v1/imports/999").status_code == 404
