"""``kechuang match rebuild``: counts only public records; bad --kind is refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.config import get_settings
from kechuang.db import dispose_engines, unit_of_work
from kechuang.matching import service
from tests.matching.helpers import achievement_data, actor

runner = CliRunner()


@pytest.fixture
def cli_db(engine, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield engine
    dispose_engines()
    get_settings.cache_clear()


def test_rebuild_reports_public_records(cli_db):
    with unit_of_work(cli_db) as s:
        inst = actor(s, "inst")
        service.do_create_achievement(s, inst, achievement_data())
        service.do_create_achievement(s, inst, achievement_data(visibility="bureau_only"))
    r = runner.invoke(app, ["match", "rebuild"])
    assert r.exit_code == 0, r.output
    assert "科技成果：已索引 1 条公开记录" in r.output
    assert "技术需求：已索引 0 条公开记录" in r.output
    assert "专家：已索引 1 条公开记录" in r.output
    r = runner.invoke(app, ["match", "rebuild", "--kind", "demand"])
    assert r.exit_code == 0 and "科技成果" not in r.output


def test_rebuild_refuses_an_unknown_kind(cli_db):
    r = runner.invoke(app, ["match", "rebuild", "--kind", "patent"])
    assert r.exit_code == 1 and "--kind 须为 achievement、demand 或 expert" in r.output
