"""Key tasks: creation, reports by the owner department only (another department's report
is refused, nothing written), flags, dispatch reports in XLSX and a real PDF with Chinese
text read back with pdfminer.six."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pdfminer.high_level import extract_text
from sqlalchemy import func, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.cli import app
from kechuang.config import get_settings
from kechuang.db import dispose_engines, unit_of_work
from kechuang.kit.errors import Forbidden, InvalidInput
from kechuang.models import Region, User
from kechuang.models.monitoring import MonitoringTask, TaskReport
from kechuang.monitoring import reports, service
from kechuang.monitoring.schemas import ReportIn, TaskIn

runner = CliRunner()


def _actor(s, username: str) -> Actor:
    user = s.scalar(select(User).where(User.username == username))
    return actor_for_user(user, s.get(Region, user.region_code).path)


def _tasks(engine) -> dict[str, int]:
    with unit_of_work(engine) as s:
        admin = _actor(s, "admin")
        a = service.do_create_task(s, admin, TaskIn(
            code="T1", title="规上工业企业研发活动统计全覆盖", department_code="stats", year=2025,
            deadline=date(2025, 12, 31), milestones=[("研发统计培训", date(2025, 3, 31))]))
        b = service.do_create_task(s, admin, TaskIn(
            code="T2", title="研发费用加计扣除政策应享尽享", department_code="tax", year=2025,
            deadline=date(2025, 6, 30)))
        return {"stats": a.id, "tax": b.id}


def test_only_the_owner_department_reports(mon_db) -> None:
    ids = _tasks(mon_db)
    with unit_of_work(mon_db) as s:
        with pytest.raises(Forbidden) as err:  # 税务局 on 统计局's task
            service.do_report(s, _actor(s, "tax"), ids["stats"],
                              ReportIn(progress=50, status="on_track"))
        assert "stats" in err.value.message_zh
        with pytest.raises(Forbidden):  # the bureau does not report for a department
            service.do_report(s, _actor(s, "admin"), ids["stats"],
                              ReportIn(progress=50, status="on_track"))
    with unit_of_work(mon_db) as s:
        assert s.scalar(select(func.count()).select_from(TaskReport)) == 0
        stats = _actor(s, "stats")
        ms = service.task_detail(s, stats, ids["stats"]).milestones
        service.do_report(s, stats, ids["stats"], ReportIn(
            progress=40, status="at_risk", note="部分企业未报", milestones_done=[ms[0].id]))
        with pytest.raises(InvalidInput):
            service.do_report(s, stats, ids["stats"], ReportIn(
                progress=40, status="on_track", milestones_done=[99999]))
    with unit_of_work(mon_db) as s:
        t = service.task_detail(s, _actor(s, "admin"), ids["stats"])
        assert t.progress == 40 and t.latest_status == "at_risk"
        assert t.milestones[0].done_on is not None
        # a department sees only its own tasks
        assert [x.code for x in service.tasks(s, _actor(s, "stats"))] == ["T1"]
        assert [x.code for x in service.tasks(s, _actor(s, "tax"))] == ["T2"]


def test_flags_as_of_a_date(mon_db) -> None:
    ids = _tasks(mon_db)
    with unit_of_work(mon_db) as s:
        stats = _actor(s, "stats")
        late = {t.code: t for t in service.tasks(s, stats, on=date(2025, 7, 1))}
        assert late["T1"].at_risk and late["T1"].reasons == ["milestone_late",
                                                              "no_recent_report"]
        ms = service.task_detail(s, stats, ids["stats"]).milestones
        service.do_report(s, stats, ids["stats"],
                          ReportIn(progress=90, status="on_track", milestones_done=[ms[0].id]))
        items = {t.code: t for t in service.tasks(s, _actor(s, "admin"), on=date(2025, 7, 1))}
    assert items["T2"].overdue and not items["T2"].at_risk
    assert "no_recent_report" in items["T2"].reasons
    assert not items["T1"].overdue and not items["T1"].at_risk
    with unit_of_work(mon_db) as s:
        done = service.do_report(s, _actor(s, "tax"), ids["tax"],
                                 ReportIn(progress=100, status="done"))
        assert s.get(MonitoringTask, done.task_id).status == "done"
        items = {t.code: t for t in service.tasks(s, _actor(s, "admin"), on=date(2025, 7, 1))}
    assert not items["T2"].overdue


def test_dispatch_report_xlsx_and_pdf_with_chinese_text(mon_db) -> None:
    _tasks(mon_db)
    with unit_of_work(mon_db) as s:
        items = service.tasks(s, _actor(s, "admin"), on=date(2025, 7, 1))
    summary = service.dispatch_summary(items)
    assert {d["department_code"]: d["overdue"] for d in summary} == {"stats": 0, "tax": 1}
    pdf = reports.dispatch_pdf("重点任务调度报告（2025-07-01）", date(2025, 7, 1), summary, items)
    assert pdf.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf))
    assert "重点任务调度报告" in text and "研发费用加计扣除政策应享尽享" in text
    assert "逾期" in text and "统计局" in text
    xlsx = reports.dispatch_xlsx("t", date(2025, 7, 1), summary, items)
    wb = load_workbook(io.BytesIO(xlsx))
    rows = list(wb.worksheets[1].iter_rows(values_only=True))
    assert rows[0][0] == "编号" and {r[0] for r in rows[1:]} == {"T1", "T2"}


def test_cli_import_and_dispatch_report(mon_db, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KECHUANG_DATABASE_URL", mon_db.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    f = tmp_path / "tasks.csv"
    f.write_text("code,title,department,deadline,milestones\n"
                 "A1,科技成果转化,kjj,2025-09-30,遴选@2025-03-31;验收@2025-09-15\n"
                 "A2,人才引进,hrss,2025-11-30,\n", encoding="utf-8")
    r = runner.invoke(app, ["monitoring", "tasks-import", str(f), "--region", "320582"])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,title,department,deadline\nB1,x,kjj,2025-13-01\n", encoding="utf-8")
    r = runner.invoke(app, ["monitoring", "tasks-import", str(bad), "--region", "320582"])
    assert r.exit_code == 1 and "第 2 行 deadline 列" in " ".join(r.output.split())
    out = tmp_path / "r.pdf"
    r = runner.invoke(app, ["monitoring", "dispatch-report", "--region", "320582",
                            "--out", str(out), "--date", "2025-12-01"])
    assert r.exit_code == 0, r.output
    assert "科技成果转化" in extract_text(str(out))
    with unit_of_work(mon_db) as s:
        assert s.scalar(select(func.count()).select_from(MonitoringTask)) == 2
    get_settings.cache_clear()
    dispose_engines()
