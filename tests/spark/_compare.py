"""What the runs on a Spark cluster are compared by (tests/spark/test_cluster_runs.py,
test_connect.py): a run read back from the database (the run row, its results, its trace
columns) and equality with another run, numbers to :data:`TOL`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models.scoring import ScoreResult, ScoringRun
from kechuang.scoring import repository as scoring_repo

CLI = Actor.command_line()
SYSTEM = "torch-points"
TOL = 1e-9


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
