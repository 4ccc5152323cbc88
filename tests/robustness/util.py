"""Helpers: build analysis inputs from a system text and a frame, scoring with the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kechuang.robustness.engine import Inputs
from kechuang.scoring.system import System
from tests.scoring.util import load_text, run


def inputs_from_engine(sys_text: str, df: pd.DataFrame, cohorts: tuple[str, ...] = ()
                       ) -> tuple[Inputs, pd.DataFrame, System]:
    """Score ``df`` with the engine (DuckDB) and take its imputed values, in ``df`` order."""
    system = load_text(sys_text)
    scores, trace, _ = run(system, df)
    uid = system.spec.unit.id
    imputed = trace.pivot(index="unit", columns="indicator", values="imputed").loc[df[uid]]
    inputs = Inputs(system=system,
                    imputed={c: imputed[c].to_numpy(dtype=float) for c in system.indicators},
                    cohorts={c: df[c].to_numpy(dtype=object) for c in cohorts},
                    ids=np.arange(len(df)))
    return inputs, scores.loc[df[uid]], system


def plain_inputs(sys_text: str, columns: dict[str, list[float]],
                 cohorts: dict[str, list[str]] | None = None,
                 eligible: list[bool] | None = None) -> Inputs:
    """Inputs straight from values (the indicators' imputed columns)."""
    system = load_text(sys_text)
    return Inputs(system=system,
                  imputed={k: np.asarray(v, dtype=float) for k, v in columns.items()},
                  cohorts={k: np.asarray(v, dtype=object) for k, v in (cohorts or {}).items()},
                  eligible=None if eligible is None else np.asarray(eligible),
                  ids=np.arange(100, 100 + len(next(iter(columns.values())))))


def persist_run(session, region_code: str = "320582", year: int = 2024,
                seed: int = 1):  # type: ignore[no-untyped-def]
    """A persisted scoring run of the shipped zjg-points 2.0 over the enterprises of a
    county, written through the models (the trace columns hold synthetic imputed values;
    the points are the system's nominal scores of them). For routes and bad-input tests
    where a database with facts is not needed."""
    from sqlalchemy import select

    from kechuang.models import Enterprise
    from kechuang.models.scoring import ScoreResult, ScoringRun
    from kechuang.robustness.engine import Choice, Model, rank_desc
    from kechuang.robustness.schemas import RobustnessConfig
    from kechuang.scoring.catalogue import load_system
    from kechuang.scoring.repository import insert_columns
    from kechuang.scoring.runs import default_parameters

    system = load_system("zjg-points", "2.0")
    ids = np.array(sorted(session.scalars(select(Enterprise.id).where(
        Enterprise.region_code.startswith(region_code)))), dtype=np.int64)
    rng = np.random.default_rng(seed)
    n = len(ids)
    imputed = {c: rng.lognormal(1, 1, n) for c in system.indicators}
    sections = np.array(["C"] * n, dtype=object)
    inputs = Inputs(system=system, imputed=imputed, cohorts={"industry_section": sections},
                    ids=ids)
    points = Model(inputs, RobustnessConfig(), np.random.default_rng(0)).evaluate(Choice())
    params = {**default_parameters(), "year": year}
    run = ScoringRun(system_id=system.id, system_version=system.version,
                     system_name=system.spec.name, system_hash=system.sha256,
                     system_source="test", year=year, parameters=params, input_hash="0" * 64,
                     region_code=region_code, enterprises=n, vetoed=0,
                     indicators=list(system.indicators), groups=list(system.groups), notes=[],
                     treatment={}, actor="test")
    session.add(run)
    session.flush()
    ranks, _, _ = rank_desc(points)
    for i, eid in enumerate(ids):
        session.add(ScoreResult(run_id=run.id, enterprise_id=int(eid), points=float(points[i]),
                                rank=int(ranks[i]), industry_section="C",
                                region_code=region_code, stage="成长", groups={}))
    insert_columns(session, run.id, {"enterprise_id": ids,
                                     **{f"imputed:{c}": v for c, v in imputed.items()}})
    session.flush()
    return run
