"""SQL of the profile: which runs hold a result for an enterprise, its result rows, a run's
cohort labels and trace columns as arrays (one query each, never per enterprise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kechuang.models import Region, ScoreColumn, ScoreResult, ScoringRun
from kechuang.scoring import service as scoring_service


def runs_for(session: Session, enterprise_id: int, *, published_only: bool,
             system_id: str | None = None) -> list[ScoringRun]:
    """Every run with a result for the enterprise, newest year first, then newest run."""
    stmt = (select(ScoringRun)
            .join(ScoreResult, ScoreResult.run_id == ScoringRun.id)
            .where(ScoreResult.enterprise_id == enterprise_id))
    if published_only:
        stmt = stmt.where(ScoringRun.published.is_(True))
    if system_id is not None:
        stmt = stmt.where(ScoringRun.system_id == system_id)
    return list(session.scalars(stmt.order_by(ScoringRun.year.desc(), ScoringRun.id.desc())))


def result_of(session: Session, run_id: int, enterprise_id: int) -> ScoreResult | None:
    return session.scalar(select(ScoreResult).where(ScoreResult.run_id == run_id,
                                                    ScoreResult.enterprise_id == enterprise_id))


def results_of(session: Session, run_ids: list[int], enterprise_id: int
               ) -> dict[int, ScoreResult]:
    rows = session.scalars(select(ScoreResult).where(ScoreResult.run_id.in_(run_ids),
                                                     ScoreResult.enterprise_id == enterprise_id))
    return {r.run_id: r for r in rows}


def scored_counts(session: Session, run_ids: list[int]) -> dict[int, int]:
    """How many enterprises got points in each run (the denominator of a rank)."""
    rows = session.execute(select(ScoreResult.run_id, func.count())
                           .where(ScoreResult.run_id.in_(run_ids),
                                  ScoreResult.points.is_not(None))
                           .group_by(ScoreResult.run_id))
    return {int(r): int(n) for r, n in rows}


def cohort_frame(session: Session, run_id: int) -> pd.DataFrame:
    """Every result of a run: enterprise id, points, cohort labels (industry section,
    region, stage) and veto, as one frame (a single query)."""
    rows = session.execute(
        select(ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.industry_section,
               ScoreResult.region_code, ScoreResult.stage, ScoreResult.veto)
        .where(ScoreResult.run_id == run_id).order_by(ScoreResult.enterprise_id)).all()
    return pd.DataFrame(rows, columns=["enterprise_id", "points", "industry_section",
                                       "region_code", "stage", "veto"])


def run_columns(session: Session, run_id: int, names: list[str]) -> dict[str, np.ndarray]:
    """Trace columns of a run by name through the scoring package's reader; names the run
    did not store are left out (an older run may lack a stage), not an error."""
    stored = set(session.scalars(select(ScoreColumn.name).where(ScoreColumn.run_id == run_id)))
    present = [n for n in dict.fromkeys(names)
               if n in stored or (n.startswith("score:") and f"normalised:{n[6:]}" in stored)]
    if not present:
        return {}
    return {k: np.asarray(v) for k, v in scoring_service.run_columns(session, run_id,
                                                                  present).items()}


def region_path(session: Session, code: str | None) -> str:
    if code is None:
        return "/"
    path = session.scalar(select(Region.path).where(Region.code == code))
    return path or "/"
