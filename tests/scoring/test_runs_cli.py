"""``kechuang score`` and ``kechuang jobs …`` through Typer's runner, on a demo county."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kechuang.bootstrap import initialise
from kechuang.cli import app
from kechuang.db import unit_of_work
from kechuang.models.jobs import Job
from kechuang.models.scoring import ScoringRun

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("scoring-test_runs_cli")

runner = CliRunner()


@pytest.fixture(scope="module")
def small(db_factory: Any) -> Engine:
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=80, seed=5)
    return engine


@pytest.fixture
def cli_db(small: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL",
                       small.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield small
    finally:
        get_settings.cache_clear()
        dispose_engines()


def test_score_prints_the_run_and_stores_it(cli_db: Engine) -> None:
    r = runner.invoke(app, ["score", "--system", "zjg-points", "--version", "1.0"])
    assert r.exit_code == 0, r.output
    m = re.search(r"评分运行 #(\d+)", r.output)
    assert m, r.output
    digest = re.search(r"input hash ([0-9a-f]{64})", r.output)
    assert "企业 80 家" in r.output and digest
    with unit_of_work(cli_db) as s:
        run = s.get(ScoringRun, int(m.group(1)))
        assert run is not None
        assert run.system_version == "1.0" and run.input_hash == digest.group(1)
        assert run.actor.startswith("cli:")


def test_score_with_count_lists(cli_db: Engine) -> None:
    r = runner.invoke(app, ["score", "--system", "torch", "--lists",
                            '{"by": "count", "tiers": [{"code": "lead", "upto": 3}]}'])
    assert r.exit_code == 0, r.output
    run_id = int(re.search(r"评分运行 #(\d+)", r.output).group(1))  # type: ignore[union-attr]
    with unit_of_work(cli_db) as s:
        run = s.get(ScoringRun, run_id)
        assert run is not None and run.parameters["lists"]["by"] == "count"


@pytest.mark.parametrize(("args", "message"), [
    (["--system", "nope"], "未知的指标体系"),
    (["--system", "torch", "--year", "1999"], "1999 年没有任何数据"),
    (["--system", "zjg-points", "--version", "7.0"], "没有版本"),
    (["--system", "torch", "--lists", "{not json"], "不是有效的 JSON"),
    (["--system", "torch", "--lists", '{"by": "rank"}'], "by 应为"),
])
def test_score_refuses_bad_input_with_exit_1(cli_db: Engine, args: list[str],
                                             message: str) -> None:
    with unit_of_work(cli_db) as s:
        before = len(s.scalars(select(ScoringRun.id)).all())
    r = runner.invoke(app, ["score", *args])
    assert r.exit_code == 1 and message in r.output, r.output
    with unit_of_work(cli_db) as s:
        assert len(s.scalars(select(ScoringRun.id)).all()) == before


def test_jobs_work_runs_the_queue_and_list_shows_it(cli_db: Engine) -> None:
    from kechuang.auth.actor import Actor
    from kechuang.jobs import service as jobs

    jobs.set_background(cli_db, False)
    with unit_of_work(cli_db) as s:
        job_id = jobs.submit(s, Actor.command_line(), "scoring.run",
                             {"system_id": "zjg-points", "version": "2.0"}).id
    r = runner.invoke(app, ["jobs", "work", "--once"])
    assert r.exit_code == 0 and "已运行 1 个任务" in r.output, r.output
    with unit_of_work(cli_db) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == "done" and job.result is not None
        run = s.get(ScoringRun, job.result["run_id"])
        assert run is not None and run.job_id == job_id and run.system_version == "2.0"
    listed = runner.invoke(app, ["jobs", "list", "--limit", "5"])
    assert listed.exit_code == 0 and f"#{job_id}" in listed.output
    rec = runner.invoke(app, ["jobs", "recover"])
    assert rec.exit_code == 0 and "0 个" in rec.output
