"""Analyses of persisted scoring runs on a demo county: the stored rows, the reader the
lists page uses, determinism, the job kind, the CLI, the pages and the API, and the messages
for bad input. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.demo.accounts import PASSWORD
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import AuditEvent, Region, User
from kechuang.models.scoring import RobustnessResult, RobustnessRun, ScoreResult, ScoringRun
from kechuang.robustness.repository import latest_for_run
from kechuang.robustness.service import do_robustness
from tests.conftest import login

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("robustness-test_service")

N = 160
CLI = Actor.command_line()


@pytest.fixture(scope="module")
def demo(db_factory: Any) -> Engine:
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=N, seed=7)
    return engine


@pytest.fixture(scope="module")
def run_id(demo: Engine) -> int:
    from kechuang.scoring.service import do_score_run

    with unit_of_work(demo) as s:
        return int(do_score_run(s, CLI, "torch-points").id)


def rows_of(engine: Engine, analysis_id: int) -> list[tuple[Any, ...]]:
    with unit_of_work(engine) as s:
        return [tuple(r) for r in s.execute(
            select(RobustnessResult.enterprise_id, RobustnessResult.median_rank,
                   RobustnessResult.rank_p05, RobustnessResult.rank_p95,
                   RobustnessResult.robust)
            .where(RobustnessResult.analysis_id == analysis_id)
            .order_by(RobustnessResult.enterprise_id)).all()]


def test_an_analysis_is_stored_with_its_rows_audit_and_the_lists_reader(demo, run_id):
    with unit_of_work(demo) as s:
        rr = do_robustness(s, CLI, run_id, replications=120, seed=3)
        aid = rr.id
    with unit_of_work(demo) as s:
        rr = s.get(RobustnessRun, aid)
        run = s.get(ScoringRun, run_id)
        scored = dict(s.execute(select(ScoreResult.enterprise_id, ScoreResult.points)
                                .where(ScoreResult.run_id == run_id,
                                       ScoreResult.points.is_not(None))).all())
        found = latest_for_run(s, run_id)
        audit = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "robustness.run", AuditEvent.object_id == str(aid)))
        assert rr.replications == 120 and rr.seed == 3
        # the nominal choices re-score the run's imputed matrix to its stored points exactly
        assert rr.parameters["nominal_check"] == pytest.approx(0.0, abs=1e-9)
        assert rr.parameters["ranked"] == len(scored) == len(found)
        assert set(found) == set(scored)
        assert audit == 1
        # the "not robust" rule uses the run's own list cut-offs
        assert rr.rule["cutoffs"] == [t["upto"] for t in run.parameters["lists"]["tiers"]]
        assert rr.rule["cohort"] == "stage"
        assert set(rr.sensitivity) == set(rr.parameters["factors"])
        assert rr.unstable == sum(1 for v in found.values() if not v[3])
    n = len(found)
    width_limit = rr.rule["max_width_ranks"]
    for median, p05, p95, robust in found.values():
        assert 1 <= p05 <= median <= p95 <= n
        if p05 == p95:
            assert robust  # a place that never moves cannot cross a cut-off
        if not robust and p95 - p05 <= width_limit:
            assert p05 < p95  # crossing a cut-off needs the place to move


def test_the_cut_off_rule_places_enterprises_as_the_run_does(demo, run_id):
    from kechuang.robustness.engine import analyse
    from kechuang.robustness.schemas import load_config
    from kechuang.robustness.service import rule_from_run, run_inputs

    with unit_of_work(demo) as s:
        run = s.get(ScoringRun, run_id)
        cfg = rule_from_run(load_config(replications=8), run)
        inputs, _, _ = run_inputs(s, run, cfg)
        tiers = dict(s.execute(select(ScoreResult.enterprise_id, ScoreResult.list_tier)
                               .where(ScoreResult.run_id == run_id)).all())
    res = analyse(inputs, cfg)
    codes = [*cfg.rule.tiers, None]
    ours = {int(e): (codes[t] if t >= 0 else None) for e, t in zip(res.ids, res.nominal_tier,
                                                                    strict=True)}
    assert ours == {e: tiers[e] for e in ours}
    assert sum(1 for v in ours.values() if v) > 0


def test_the_same_seed_gives_identical_rows(demo, run_id):
    with unit_of_work(demo) as s:
        a = do_robustness(s, CLI, run_id, replications=48, seed=11).id
        b = do_robustness(s, CLI, run_id, replications=48, seed=11).id
        c = do_robustness(s, CLI, run_id, replications=48, seed=12).id
    assert rows_of(demo, a) == rows_of(demo, b)
    assert rows_of(demo, a) != rows_of(demo, c)
    with unit_of_work(demo) as s:
        # the lists reader follows the latest analysis
        latest = latest_for_run(s, run_id)
        assert latest == {r[0]: (r[1], r[2], r[3], r[4]) for r in rows_of(demo, c)}


def test_the_job_kind_runs_through_the_worker(demo, run_id):
    from kechuang.jobs import service as jobs

    jobs.set_background(demo, False)
    with unit_of_work(demo) as s:
        job_id = jobs.submit(s, CLI, "robustness", {"run_id": run_id, "replications": 30,
                                                    "seed": 2}).id
    jobs.run_pending(demo)
    with unit_of_work(demo) as s:
        job = jobs.get_job(s, CLI, job_id)
        assert job.status == "done", job.error
        rr = s.get(RobustnessRun, job.result["analysis_id"])
        assert rr is not None and rr.job_id == job_id and rr.replications == 30
        assert job.progress_total == 30


def test_a_failing_job_leaves_no_analysis_behind(demo):
    from kechuang.jobs import service as jobs

    jobs.set_background(demo, False)
    with unit_of_work(demo) as s:
        empty = ScoringRun(system_id="torch-points", system_version="1.0", system_name="空",
                           system_hash="x", system_source="test", year=2020, parameters={},
                           input_hash="0" * 64, enterprises=0, vetoed=0, indicators=[],
                           groups=[], notes=[], treatment={}, actor="test")
        s.add(empty)
        s.flush()
        before = s.scalar(select(func.count()).select_from(RobustnessRun))
        job_id = jobs.submit(s, CLI, "robustness", {"run_id": empty.id}).id
    jobs.run_pending(demo)
    with unit_of_work(demo) as s:
        job = jobs.get_job(s, CLI, job_id)
        assert job.status == "failed" and "没有任何企业结果" in (job.error or "")
        assert s.scalar(select(func.count()).select_from(RobustnessRun)) == before


def test_bad_input_gives_clear_messages(demo, run_id):
    with unit_of_work(demo) as s, pytest.raises(InvalidInput, match="重复次数应至少为 1"):
        do_robustness(s, CLI, run_id, replications=0)
    with unit_of_work(demo) as s:
        empty = ScoringRun(system_id="torch-points", system_version="1.0", system_name="空",
                           system_hash="x", system_source="test", year=2020, parameters={},
                           input_hash="0" * 64, enterprises=0, vetoed=0, indicators=[],
                           groups=[], notes=[], treatment={}, actor="test")
        s.add(empty)
        s.flush()
        with pytest.raises(InvalidInput, match="没有任何企业结果"):
            do_robustness(s, CLI, empty.id)
        with pytest.raises(NotFound):
            do_robustness(s, CLI, 999_999)
        # a county's run is invisible to the bureau of another county
        empty.region_code = "320582"
        s.flush()
        path = s.scalar(select(Region.path).where(Region.code == "320581"))
        other = Actor(username="x", role="bureau_admin", region_code="320581",
                      region_path=path)
        with pytest.raises(NotFound, match="不存在或不在您的管辖范围内"):
            do_robustness(s, other, empty.id)
        s.rollback()


def test_cli_run_and_show(demo, run_id, monkeypatch):
    from kechuang.cli import app

    monkeypatch.setattr("kechuang.db.get_engine", lambda url=None: demo)
    runner = CliRunner()
    res = runner.invoke(app, ["robustness", "run", "--run", str(run_id), "--replications", "24",
                              "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert "24 次重复" in res.output and "S1" in res.output
    with unit_of_work(demo) as s:
        aid = s.scalar(select(func.max(RobustnessRun.id)))
    shown = runner.invoke(app, ["robustness", "show", "--analysis", str(aid), "--json"])
    assert shown.exit_code == 0, shown.output
    assert f'"id": {aid}' in shown.output and '"seed": 5' in shown.output
    bad = runner.invoke(app, ["robustness", "run", "--run", str(run_id),
                              "--replications", "0"])
    assert bad.exit_code == 1 and "重复次数应至少为 1" in bad.output


def test_pages_and_api(demo):
    from kechuang.app import create_app
    from kechuang.jobs import service as jobs
    from kechuang.scoring.service import do_score_run

    # a run of the county's own, made by its administrator: a run over every region (the
    # shell's) is beyond a county account's scope to analyse (issue 17, item 2)
    with unit_of_work(demo) as s:
        user = s.scalar(select(User).where(User.username == "admin"))
        assert user is not None
        admin = actor_for_user(user, s.get(Region, user.region_code).path)
        run_id = int(do_score_run(s, admin, "torch-points").id)

    jobs.set_background(demo, False)
    client = TestClient(create_app(demo))
    csrf = login(client, "admin", PASSWORD)
    index = client.get("/robustness")
    assert index.status_code == 200 and f'href="/robustness/runs/{run_id}"' in index.text
    page = client.get(f"/robustness/runs/{run_id}")
    assert page.status_code == 200 and 'data-testid="start-form"' in page.text
    bad = client.post(f"/robustness/runs/{run_id}", data={"replications": "0",
                                                          "csrf_token": csrf})
    assert bad.status_code == 422 and "重复次数应在 1 到 100000 之间" in bad.text
    started = client.post(f"/robustness/runs/{run_id}",
                          data={"replications": "36", "seed": "9", "csrf_token": csrf},
                          follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    jobs.run_pending(demo)
    with unit_of_work(demo) as s:
        job = jobs.get_job(s, CLI, job_id)
        assert job.status == "done", job.error
        aid = job.result["analysis_id"]
    shown = client.get(f"/robustness/{aid}")
    assert shown.status_code == 200
    assert 'data-robustness-chart=' in shown.text and 'data-factor="weights"' in shown.text
    assert "/static/robustness-chart.js" in shown.text
    data = client.get(f"/api/v1/robustness/{aid}").json()
    assert data["replications"] == 36 and data["seed"] == 9
    assert set(data["sensitivity"]) == {"weights", "normalisation", "aggregation",
                                        "winsorisation"}
    res = client.get(f"/api/v1/robustness/{aid}/results", params={"limit": 5}).json()
    widths = [r["width"] for r in res["results"]]
    assert widths == sorted(widths, reverse=True) and res["total"] == data["ranked"]
    unstable = client.get(f"/api/v1/robustness/{aid}/results",
                          params={"only_unstable": "true", "limit": 1000}).json()
    assert unstable["total"] == data["unstable"]
    assert all(not r["robust"] for r in unstable["results"])
    rows = client.get(f"/robustness/{aid}/rows", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and 'data-testid="robustness-rows"' in rows.text
    queued = client.post(f"/api/v1/robustness/runs/{run_id}", json={"replications": 12},
                         headers={"X-CSRF-Token": csrf})
    assert queued.status_code == 202 and queued.json()["job_id"] > job_id
    listed = client.get(f"/api/v1/robustness/runs/{run_id}").json()
    assert listed[0]["id"] >= aid
    client.cookies.set("kc_lang", "en")
    english = client.get(f"/robustness/{aid}")
    assert "Sensitivity indices of the choices" in english.text
