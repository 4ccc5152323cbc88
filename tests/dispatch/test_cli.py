"""``kechuang dispatch``: file mode formats and errors, database mode."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.db import unit_of_work
from kechuang.models.dispatch import DispatchRun

runner = CliRunner()

REQUESTS = """id,title,description,region_code,industry,team_size
12,锂电池隔膜涂覆工艺改进,希望降低锂离子电池隔膜的热收缩率,320582,,1
13,纺织印染废水处理,印染废水COD高,320582,,1
14,数控机床精度提升,机床主轴热变形导致加工误差,320581,,2
=15,集成电路封装,芯片封装空洞,320582,,1
"""
COMMISSIONERS = """id,name,expertise,capacity,affiliation,region_code
a,张工,锂离子电池材料 隔膜 涂层,1,苏州大学,320582
b,李工,水处理 印染废水 膜分离,1,江南大学,320582
c,王工,机床 数控 精密加工 热变形补偿,2,南京理工大学,320581
d,赵工,锂离子电池 隔膜 机床 集成电路 芯片封装,0,常州大学,320581
"""


def _files(tmp_path: Path, requests: str = REQUESTS, commissioners: str = COMMISSIONERS,
           conflicts: str | None = "request_id,commissioner_id,reason\n13,b,亲属\n"):
    r = tmp_path / "r.csv"
    r.write_text(requests, encoding="utf-8")
    c = tmp_path / "c.csv"
    c.write_text(commissioners, encoding="utf-8")
    args = ["dispatch", "--requests", str(r), "--commissioners", str(c),
            "--out", str(tmp_path / "a.csv")]
    if conflicts is not None:
        x = tmp_path / "x.csv"
        x.write_text(conflicts, encoding="utf-8")
        args += ["--conflicts", str(x)]
    return args


def _out(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_file_mode(tmp_path):
    result = runner.invoke(app, _files(tmp_path))
    assert result.exit_code == 0, result.output
    rows = _out(tmp_path)
    assigned = {(r["request_id"], r["commissioner_id"]) for r in rows if r["kind"] == "assigned"}
    assert ("12", "a") in assigned and ("14", "c") in assigned
    assert not any(r["commissioner_id"] == "d" for r in rows)  # zero capacity: never
    assert not any(r["commissioner_id"] == "b" and r["request_id"] == "13" for r in rows)
    unserved = {r["request_id"]: r["note"] for r in rows if r["kind"] == "unserved"}
    assert "需求 #13 的所有候选特派员均有利益冲突" in unserved["13"]
    assert "差 1 名" in unserved["14"]  # team of 2, one machine-tool expert with capacity
    # formula injection is neutralised in the output
    assert any(r["request_id"] == "'=15" for r in rows)
    assert "最优性证明" in result.output


@pytest.mark.parametrize("requests, commissioners, message", [
    (REQUESTS + "12,重复,重复\n", COMMISSIONERS, "第 6 行 id 列：编号“12”与第 2 行重复"),
    (REQUESTS, COMMISSIONERS + "e,钱工,材料,-1,,\n", "第 6 行 capacity 列：-1 超出范围"),
    (REQUESTS, COMMISSIONERS + "e,钱工,材料,两个,,\n", "第 6 行 capacity 列：“两个”不是整数"),
    (REQUESTS, "id,name,capacity\na,张工,1\n", "第 1 行（表头）缺少列：expertise"),
    (REQUESTS.replace(",1\n13", ",0\n13"), COMMISSIONERS, "第 2 行 team_size 列：0 超出范围"),
])
def test_bad_rows_name_file_row_column(tmp_path, requests, commissioners, message):
    result = runner.invoke(app, _files(tmp_path, requests, commissioners))
    assert result.exit_code == 1
    assert message in result.output.replace("\n", "")
    assert not (tmp_path / "a.csv").exists()


def test_unknown_conflict_id_is_refused(tmp_path):
    result = runner.invoke(app, _files(tmp_path, conflicts="request_id,commissioner_id\n99,a\n"))
    assert result.exit_code == 1 and "需求“99”不在需求文件中" in result.output


def test_database_mode(engine, scene, monkeypatch):
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        result = runner.invoke(app, ["dispatch", "--region", "320582"])
        assert result.exit_code == 0, result.output
        assert "分派运行 #" in result.output and "未满足" in result.output
        # the unserved requests stay open; a second run takes only those
        again = runner.invoke(app, ["dispatch", "--region", "320582"])
        assert again.exit_code == 0 and "1 个需求" in again.output
        bad = runner.invoke(app, ["dispatch", "--region", "999999"])
        assert bad.exit_code == 1 and "没有行政区划代码 999999" in bad.output
    finally:
        get_settings.cache_clear()
        dispose_engines()
    with unit_of_work(engine) as s:
        runs = s.scalars(select(DispatchRun).order_by(DispatchRun.id)).all()
        assert [(r.region_code, r.requests) for r in runs] == [("320582", 4), ("320582", 1)]
        assert s.scalar(select(func.count()).select_from(DispatchRun)) == 2
