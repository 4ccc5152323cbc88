"""The monitoring pages and API: the director's dashboard in both languages, targets and
uploads through the forms, the export; the task list, the department's report form, the
dispatch reports (PDF read back)."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from pdfminer.high_level import extract_text
from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models.monitoring import IndicatorTarget
from kechuang.monitoring import service
from kechuang.monitoring.schemas import TaskIn

HAN = re.compile(r"[\u4e00-\u9fff]")


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _task(engine, dept: str = "stats") -> int:
    with unit_of_work(engine) as s:
        t = service.do_create_task(s, Actor.command_line(), TaskIn(
            code="T1", title="规上工业企业研发活动统计全覆盖", department_code=dept, year=2025,
            deadline=date(2025, 12, 31), milestones=[("研发统计培训", date(2025, 3, 31))]),
            region_code="320582")
        return t.id


def test_dashboard_target_upload_and_export(client, login_as, mon_db) -> None:
    csrf = login_as("admin")
    page = client.get("/monitoring?year=2024")
    assert page.status_code == 200
    assert "规上工业企业研发经费支出" in page.text and 'data-kc-chart="' in page.text
    assert 'data-region="320582100"' in page.text
    r = client.post("/monitoring/targets", data={"csrf_token": csrf, "indicator_id": "hte_count",
                                                  "year": "2024", "target": "4"},
                    follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(mon_db) as s:
        assert s.scalar(select(IndicatorTarget.target)) == 4
    page = client.get("/monitoring?year=2024").text
    assert re.search(r'data-indicator="hte_count".*?data-testid="progress">25%', page, re.S)
    r = client.post("/monitoring/upload", data={"csrf_token": csrf, "kind": "values"},
                    files={"file": ("gdp.csv", b"region_code,indicator_id,year,value\n"
                                               b"320582,gdp,2024,3100\n", "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303 and "rows=1" in r.headers["location"]
    bad = client.post("/monitoring/upload", data={"csrf_token": csrf, "kind": "values"},
                      files={"file": ("gdp.csv", b"region_code,indicator_id,year,value\n"
                                                 b"320582,gdp,2024,x\n", "text/csv")})
    assert bad.status_code == 422 and "gdp.csv 第 2 行 value 列" in bad.text
    x = client.get("/monitoring/export.xlsx?year=2024")
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.worksheets[0].cell(1, 1).value == "指标"
    client.get("/lang/en")
    en = _main(client.get("/monitoring?year=2024").text)
    assert "R&amp;D spending of industrial enterprises above designated size" in en
    stripped = re.sub(r"<(td|option)[^>]*>[^<]*</\1>", "", en)
    stripped = re.sub(r'data-kc-chart="[^"]*"', "", stripped).replace("张家港市", "")  # data
    assert not HAN.search(stripped), HAN.findall(stripped)[:10]


def test_tasks_pages_report_form_and_dispatch_pdf(client, login_as, mon_db) -> None:
    task_id = _task(mon_db)
    login_as("staff")
    page = client.get("/monitoring/tasks")
    assert page.status_code == 200 and 'data-task="T1"' in page.text
    detail = client.get(f"/monitoring/tasks/{task_id}").text
    assert 'data-testid="report-form"' not in detail  # the bureau does not report
    pdf = client.get("/monitoring/tasks/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "规上工业企业研发活动统计全覆盖" in extract_text(io.BytesIO(pdf.content))
    client.get("/logout")
    csrf = login_as("stats")
    detail = client.get(f"/monitoring/tasks/{task_id}").text
    assert 'data-testid="report-form"' in detail
    mid = re.search(r'name="milestone" value="(\d+)"', detail).group(1)
    r = client.post(f"/monitoring/tasks/{task_id}/report",
                    data={"csrf_token": csrf, "progress": "60", "status": "on_track",
                          "note": "已完成培训", "milestone": mid}, follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(f"/monitoring/tasks/{task_id}").text
    assert "已完成培训" in detail and "完成于" in detail
    api = client.get("/api/v1/monitoring/tasks").json()
    assert [t["progress"] for t in api] == [60]
    xlsx = client.get("/monitoring/tasks/report.xlsx")
    assert xlsx.status_code == 200


def test_another_department_cannot_report(client, login_as, mon_db) -> None:
    task_id = _task(mon_db, dept="tax")
    csrf = login_as("stats")
    r = client.post(f"/monitoring/tasks/{task_id}/report",
                    data={"csrf_token": csrf, "progress": "60", "status": "on_track"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/monitoring/tasks/{task_id}/reports",
                    json={"progress": 10, "status": "on_track"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert client.get("/api/v1/monitoring/tasks").json() == []  # not its department's
    assert client.get("/monitoring").status_code == 403
