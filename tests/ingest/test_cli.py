"""``kechuang import | batches | templates`` through Typer's runner and a real subprocess,
including ``kill -9`` in the middle of a large import."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.db import unit_of_work
from kechuang.kit.uscc import make_uscc
from kechuang.models import Fact
from tests.conftest import BACKEND
from tests.ingest.helpers import GOOD_ROWS, TAX_HEADER, U1, U2, csv_bytes, fact_state, run_import

runner = CliRunner()


@pytest.fixture
def cli_db(engine, settings_env):  # type: ignore[no-untyped-def]
    settings_env(database_url=engine.url.render_as_string(hide_password=False))
    return engine


def test_import_exit_codes_and_report(cli_db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(GOOD_ROWS))
    r = runner.invoke(app, ["import", str(good), "--template", "tax", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "试导入" in r.output
    r = runner.invoke(app, ["import", str(good), "--template", "tax"])
    assert r.exit_code == 0, r.output
    assert "已导入为批次 1" in r.output
    r = runner.invoke(app, ["import", str(good), "--template", "tax"])
    assert r.exit_code == 0 and "已用模板“tax”导入为批次 1" in r.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([TAX_HEADER] + [[U1, 1990 + i, "x", "", ""] for i in range(60)]))
    report = tmp_path / "problems.xlsx"
    r = runner.invoke(app, ["import", str(bad), "-t", "tax", "--report", str(report)])
    assert r.exit_code == 1
    assert "问题清单（共 60 个）" in r.output and "前 50 个" in r.output
    rows = list(load_workbook(report).active.iter_rows(values_only=True))
    assert len(rows) == 61 and rows[1][1] == 2 and "应为数字" in rows[1][4]


def test_valid_rows_only_and_batches_commands(cli_db, tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_bytes(csv_bytes([TAX_HEADER, [U1, 2023, 1, "", ""], [U2, 2023, "x", "", ""]]))
    r = runner.invoke(app, ["import", str(f), "-t", "tax"])
    assert r.exit_code == 1
    r = runner.invoke(app, ["import", str(f), "-t", "tax", "--valid-rows-only"])
    assert r.exit_code == 0 and "跳过有问题的行 1 行" in r.output
    r = runner.invoke(app, ["batches", "list"])
    assert r.exit_code == 0 and "导入批次" in r.output
    r = runner.invoke(app, ["batches", "list", "--json"])
    [batch] = json.loads(r.output)
    assert (batch["id"], batch["filename"], batch["rows_imported"]) == (1, "mixed.csv", 1)
    r = runner.invoke(app, ["batches", "rollback", "1"])
    assert r.exit_code == 0 and "已回滚批次 1" in r.output
    r = runner.invoke(app, ["batches", "rollback", "1"])
    assert r.exit_code == 1 and "已于此前回滚" in r.output


def test_templates_commands(cli_db):
    r = runner.invoke(app, ["templates", "list"])
    assert r.exit_code == 0
    for name in ("tax", "stats", "ip", "hrss", "kjj", "market"):
        assert name in r.output
    r = runner.invoke(app, ["templates", "show", "market"])
    assert r.exit_code == 0 and "create_enterprises: true" in r.output
    r = runner.invoke(app, ["templates", "show", "nope"])
    assert r.exit_code == 1 and "不存在" in r.output


MARKET = ["统一社会信用代码", "企业名称", "所属区域代码", "行业代码", "成立日期",
          "列入经营异常名录"]


def _big_market_file(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(MARKET)
        for i in range(n):
            w.writerow([make_uscc(f"91320582{i + 1_000_000:09d}"), f"张家港测试企业{i}",
                        "320582100", "3973", "2015-01-02", "否"])


def _kechuang(args: list[str], url: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "KECHUANG_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    exe = Path(sys.executable).parent / "kechuang"
    return subprocess.Popen([str(exe), *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _current_values(engine: Engine) -> list[tuple[object, ...]]:
    with unit_of_work(engine) as s:
        return [tuple(r) for r in s.execute(
            select(Fact.enterprise_id, Fact.metric_id, Fact.period, Fact.value_num,
                   Fact.value_text).where(Fact.is_current.is_(True))
            .order_by(Fact.enterprise_id, Fact.metric_id, Fact.period))]


def test_kill_9_mid_import_leaves_the_database_as_before(engine, tmp_path):
    """On PostgreSQL the import is one transaction: killed, it leaves nothing. On SQLite a
    long import writes in short transactions (kechuang.ingest.loading): killed, it leaves a
    ``loading`` batch whose values no read sees, which ``kechuang batches recover`` (or the
    next import, or the server's start) undoes — then the database is exactly as before."""
    assert run_import(engine, csv_bytes(GOOD_ROWS)).ok  # some history to protect
    before = fact_state(engine)
    values_before = _current_values(engine)
    big = tmp_path / "big-market.csv"
    _big_market_file(big, 60_000)
    url = engine.url.render_as_string(hide_password=False)
    proc = _kechuang(["import", str(big), "--template", "market"], url, tmp_path)
    assert proc.stderr is not None
    # SQLite: the second "写入" follows the first slice's commit; PostgreSQL: inside the one
    # transaction (enterprises inserted, facts being staged)
    writes = 0
    for line in proc.stderr:
        writes += "写入" in line
        if writes == (2 if BACKEND == "sqlite" else 1):
            break
    if BACKEND != "sqlite":
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    assert _current_values(engine) == values_before  # no value of the dead import is current
    if BACKEND == "sqlite":
        with unit_of_work(engine) as s:
            status = s.scalar(text("SELECT status FROM import_batch ORDER BY id DESC LIMIT 1"))
        assert status == "loading"
        recover = _kechuang(["batches", "recover"], url, tmp_path)
        out, err = recover.communicate(timeout=300)
        assert recover.returncode == 0, err
        assert "导入中断，已撤销" in out
    assert fact_state(engine)[:4] == before[:4]  # facts and enterprises exactly as before

    again = _kechuang(["import", str(big), "--template", "market"], url, tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "新建企业 60,000 家" in out
    after = fact_state(engine)
    assert after[0] == before[0] + 60_000 * 5 and after[2] == before[2] + 60_000


def test_a_command_line_batch_belongs_to_the_region_of_its_enterprises(engine, tmp_path):
    """The CLI has no region; its batch is placed at the deepest region holding every
    enterprise it touched, so the county's bureau accounts see it and the neighbour's don't."""
    from kechuang.auth.actor import Actor
    from kechuang.db import unit_of_work
    from kechuang.ingest.service import do_import
    from kechuang.models import ImportBatch
    from tests.support.seed import uscc

    csv = ("统一社会信用代码,年度,研发费用（万元）\n"
           f"{uscc(1)},2023,100\n{uscc(2)},2023,200\n").encode()
    with unit_of_work(engine) as s:
        result = do_import(s, Actor.command_line(), csv, "rd.csv", "tax")
        assert result.ok, result.message
        assert s.get(ImportBatch, result.batch_id).region_code == "320582"
