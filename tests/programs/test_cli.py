"""``kechuang programs …`` on the test database: the YAML cases, a program and call created,
a refused transition (exit 1, Chinese message naming the state), a payment, the statistics."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.config import get_settings
from kechuang.db import dispose_engines

runner = CliRunner()


@pytest.fixture
def cli_db(engine, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield engine
    dispose_engines()
    get_settings.cache_clear()


def test_yaml_cases_and_types_list():
    r = runner.invoke(app, ["programs", "test"])
    assert r.exit_code == 0, r.output
    assert "全部" in r.output and "失败" not in r.output
    r = runner.invoke(app, ["programs", "types"])
    assert r.exit_code == 0 and "揭榜挂帅" in r.output and "30% / 40% / 30%" in r.output


def test_create_call_refused_transition_and_stats(cli_db, tmp_path):
    r = runner.invoke(app, ["programs", "create", "--code", "CLI-JB", "--title", "命令行项目",
                            "--type", "challenge", "--year", "2026", "--budget", "1000000",
                            "--region", "320582"])
    assert r.exit_code == 0, r.output
    assert "program:CLI-JB:2026" in r.output
    r = runner.invoke(app, ["programs", "create", "--code", "CLI-JB2", "--title", "坏预算",
                            "--type", "challenge", "--year", "2026", "--budget", "-5",
                            "--region", "320582"])
    assert r.exit_code == 1 and "--budget" in r.output and "负数" in r.output
    closes = (date.today() + timedelta(days=5)).isoformat()
    r = runner.invoke(app, ["programs", "call", "--program", "CLI-JB", "--code", "CLI-JB-01",
                            "--title", "命令行榜单", "--closes-on", closes,
                            "--budget-cap", "500000"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["programs", "transition", "--call", "CLI-JB-01", "--action", "close"])
    assert r.exit_code == 1 and "草稿" in r.output and "发布榜单" in r.output
    r = runner.invoke(app, ["programs", "transition", "--call", "CLI-JB-01", "--action", "open"])
    assert r.exit_code == 0 and "open" in r.output
    r = runner.invoke(app, ["programs", "pay", "--application", "999", "--what", "tranche"])
    assert r.exit_code == 1 and "不存在" in r.output
    out = tmp_path / "stats.json"
    r = runner.invoke(app, ["programs", "stats", "--json", "--out", str(out)])
    assert r.exit_code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data[-1]["year"] is None and data[-1]["applications"] == 0
