"""What the runs on a Spark cluster are compared by (tests/spark/test_cluster_runs.py,
test_connect.py): a run read back from the database (the run row, its results, its trace
columns) and equality with another run, numbers to :data:`TOL`; a policy run on a cluster
against the in-process one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from kechuang.auth.actor import Actor
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.lists.service import do_publish_run
from kechuang.models import AuditEvent, PolicyRun
from kechuang.models.scoring import ScoreResult, ScoringRun
from kechuang.policy.service import do_run_policies, read_results
from kechuang.scoring import repository as scoring_repo
from kechuang.scoring.service import do_score_run

CLI = Actor.command_line()
SYSTEM = "torch-points"
TOL = 1e-9
#: Spark settings for a county of 60: one partition per shuffle (each partition is a task)
#: and no adaptive re-planning after every stage — the run has some 350 small stages, and
#: these two settings take about a third off its time; the results are the same
SMALL_COUNTY_CONF = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"}


def run_frames(engine: Engine, run_id: int) -> tuple[ScoringRun, pd.DataFrame,
                                                       dict[str, np.ndarray]]:
    with unit_of_work(engine) as s:
        run = s.get(ScoringRun, run_id)
        assert run is not None
        s.expunge(run)
        rows = s.execute(select(ScoreResult).where(ScoreResult.run_id == run_id)
                         .order_by(ScoreResult.enterprise_id)).scalars().all()
        cols = [c.name for c in ScoreResult.__table__.columns if c.name not in ("id", "run_id")]
        frame = pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows])
        names = [n for (n,) in s.execute(select(scoring_repo.ScoreColumn.name).where(
            scoring_repo.ScoreColumn.run_id == run_id))]
        trace = scoring_repo.run_columns(s, run_id, names)
    return run, frame, trace


def assert_close(a: Any, b: Any, where: str) -> None:
    """Equal, numbers to :data:`TOL` (a sum over a cluster's partitions may differ from the
    in-process one in the last bits)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float | int), where
        assert abs(a - b) <= TOL * max(1.0, abs(a)), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(engine: Engine, a_id: int, b_id: int) -> None:
    a, fa, ta = run_frames(engine, a_id)
    b, fb, tb = run_frames(engine, b_id)
    assert a.input_hash == b.input_hash
    assert (a.enterprises, a.vetoed, a.notes, a.indicators, a.groups) == (
        b.enterprises, b.vetoed, b.notes, b.indicators, b.groups)
    assert_close(a.treatment, b.treatment, "treatment")
    assert len(fa) == a.enterprises > 0
    for col in fa.columns:
        if col == "groups":
            for ga, gb in zip(fa[col], fb[col], strict=True):
                assert_close(ga if isinstance(ga, dict) else json.loads(ga),
                              gb if isinstance(gb, dict) else json.loads(gb), "groups")
        elif fa[col].dtype.kind == "f" or col in ("points", "percentile", "prev_points"):
            np.testing.assert_allclose(fa[col].astype(float), fb[col].astype(float),
                                       rtol=TOL, atol=TOL, equal_nan=True, err_msg=col)
        else:
            assert fa[col].tolist() == fb[col].tolist(), col
    assert ta.keys() == tb.keys()
    for name in ta:
        np.testing.assert_allclose(ta[name], tb[name], rtol=TOL, atol=TOL, equal_nan=True,
                                   err_msg=name)


def count_runs(engine: Engine) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(ScoringRun)) or 0)


def demo_county(db_factory: Any) -> Engine:
    """The small demo county both cluster modules compare on (jobs run in the test)."""
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=60, seed=11)
    jobs.set_background(engine, False)
    return engine


def assert_policy_run_on_cluster(engine: Engine, where: dict[str, str], lake: Path) -> None:
    """Every built-in policy, through the ``policy.run`` job kind on the cluster ``where``
    (``spark_master`` or ``spark_remote``), with a published points run (so the points
    policies read points on the executors): the same runs as in process — input hashes,
    counts and stored results exactly."""
    as_of = date(2026, 6, 1)
    with unit_of_work(engine) as s:
        scored = do_score_run(s, CLI, SYSTEM).id
    with unit_of_work(engine) as s:
        do_publish_run(s, CLI, scored)
    with unit_of_work(engine) as s:
        local = do_run_policies(s, CLI, None, as_of)
    with unit_of_work(engine) as s:
        job_id = jobs.submit(s, CLI, "policy.run", {
            "as_of": as_of.isoformat(), "engine": "spark", **where,
            "spark_conf": dict(SMALL_COUNTY_CONF), "lake": str(lake)}).id
    job = jobs.execute(engine, job_id)
    assert job.status == "done", job.error
    remote = [int(r["run_id"]) for r in job.result["runs"]]
    assert (lake / "_points" / f"run-{scored}.parquet").exists()
    assert len(remote) == len(local) >= 9
    points_counts = {}
    with unit_of_work(engine) as s:
        for a, b_id in zip(local, remote, strict=True):
            b = s.get(PolicyRun, b_id)
            assert b is not None and b.policy_id == a.policy_id
            assert (b.input_hash, b.enterprises, b.counts) == (
                a.input_hash, a.enterprises, a.counts), a.policy_id
            ra, rb = read_results(s, a.run_id), read_results(s, b_id)
            assert len(ra) == a.enterprises > 0
            pd.testing.assert_frame_equal(ra, rb, check_exact=True, obj=a.policy_id)
            if a.policy_id.startswith("points_"):
                points_counts[a.policy_id] = a.counts
            audit = s.scalars(select(AuditEvent).where(
                AuditEvent.action == "policy.run", AuditEvent.object_id == str(b_id))).one()
            assert audit.after["engine"] == "spark"
            assert audit.after["cluster"] in where.values()
    # the points policies had points to read: not every verdict is "insufficient data"
    assert points_counts and all(set(c) != {"insufficient_data"}
                                 for c in points_counts.values()), points_counts
