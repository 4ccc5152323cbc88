"""SQL of robustness analyses: reading a scoring run's inputs, the bulk write of per-enterprise
results and the reads the pages, the API and the lists page use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import bulk_insert
from kechuang.models import Enterprise
from kechuang.models.scoring import RobustnessResult, RobustnessRun, ScoreResult, ScoringRun

#: cohort columns a run keeps per enterprise (ScoreResult), usable by systems and rules
RESULT_COHORTS = ("stage", "industry_section", "region_code")

#: (median rank, 5th percentile, 95th percentile, robust)
Robustness = tuple[float, float, float, bool]


def run_results(session: Session, run_id: int) -> dict[str, np.ndarray]:
    """A run's per-enterprise rows as whole columns, in enterprise-id order."""
    rows = session.execute(
        select(ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.veto,
               ScoreResult.stage, ScoreResult.industry_section, ScoreResult.region_code)
        .where(ScoreResult.run_id == run_id).order_by(ScoreResult.enterprise_id)).all()
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(6)]
    return {
        "enterprise_id": np.asarray(cols[0], dtype=np.int64),
        "points": np.asarray([np.nan if v is None else v for v in cols[1]], dtype=np.float64),
        "veto": np.asarray(cols[2], dtype=object),
        "stage": np.asarray(cols[3], dtype=object),
        "industry_section": np.asarray(cols[4], dtype=object),
        "region_code": np.asarray(cols[5], dtype=object),
    }


def insert_results(session: Session, analysis_id: int, ids: np.ndarray, median: np.ndarray,
                   p05: np.ndarray, p95: np.ndarray, robust: np.ndarray) -> int:
    """Write an analysis's rows in bulk inside the session's transaction (``executemany`` of
    tuples on SQLite, ``COPY`` on PostgreSQL), in enterprise order."""
    order = np.argsort(ids, kind="stable")
    columns = [
        [int(analysis_id)] * len(ids),
        [int(v) for v in np.asarray(ids)[order].tolist()],
        np.asarray(median, dtype=np.float64)[order].tolist(),
        np.asarray(p05, dtype=np.float64)[order].tolist(),
        np.asarray(p95, dtype=np.float64)[order].tolist(),
        [bool(v) for v in np.asarray(robust)[order].tolist()],
    ]
    return bulk_insert(session, "robustness_result", ["analysis_id", "enterprise_id",
                       "median_rank", "rank_p05", "rank_p95", "robust"], columns)


def latest_analysis(session: Session, scoring_run_id: int,
                    before: datetime | None = None) -> RobustnessRun | None:
    """The latest analysis of a scoring run (made at or before ``before`` if given)."""
    stmt = select(RobustnessRun).where(RobustnessRun.scoring_run_id == scoring_run_id)
    if before is not None:
        stmt = stmt.where(RobustnessRun.created_at <= before)
    return session.scalars(stmt.order_by(RobustnessRun.id.desc()).limit(1)).first()


def latest_for_run(session: Session, scoring_run_id: int,
                   before: datetime | None = None) -> dict[int, Robustness]:
    """The latest analysis of a scoring run (made at or before ``before`` if given), by
    enterprise id: (median rank, p05, p95, robust); {} when there is none. The caller
    scopes the run."""
    latest = latest_analysis(session, scoring_run_id, before)
    if latest is None:
        return {}
    rows = session.execute(
        select(RobustnessResult.enterprise_id, RobustnessResult.median_rank,
               RobustnessResult.rank_p05, RobustnessResult.rank_p95, RobustnessResult.robust)
        .where(RobustnessResult.analysis_id == latest.id))
    return {int(e): (float(m), float(lo), float(hi), bool(ok)) for e, m, lo, hi, ok in rows}


def analyses_of(session: Session, scoring_run_id: int) -> list[RobustnessRun]:
    return list(session.scalars(select(RobustnessRun)
                                .where(RobustnessRun.scoring_run_id == scoring_run_id)
                                .order_by(RobustnessRun.id.desc())))


def recent_analyses(session: Session, run_ids: list[int], limit: int = 50
                    ) -> list[RobustnessRun]:
    if not run_ids:
        return []
    return list(session.scalars(select(RobustnessRun)
                                .where(RobustnessRun.scoring_run_id.in_(run_ids))
                                .order_by(RobustnessRun.id.desc()).limit(limit)))


def results_page(session: Session, actor: Actor, analysis: RobustnessRun, *,
                 only_unstable: bool = False, limit: int = 50, offset: int = 0
                 ) -> tuple[int, list[dict[str, Any]]]:
    """Enterprises of an analysis the actor may see, widest 90% interval first, with the
    run's own points and rank."""
    width = RobustnessResult.rank_p95 - RobustnessResult.rank_p05
    cond = [RobustnessResult.analysis_id == analysis.id, enterprise_visible(actor)]
    if only_unstable:
        cond.append(RobustnessResult.robust.is_(False))
    base = (select(RobustnessResult, Enterprise.uscc, Enterprise.name, ScoreResult.points,
                   ScoreResult.rank, ScoreResult.stage, ScoreResult.list_tier)
            .join(Enterprise, Enterprise.id == RobustnessResult.enterprise_id)
            .join(ScoreResult, (ScoreResult.run_id == analysis.scoring_run_id)
                  & (ScoreResult.enterprise_id == RobustnessResult.enterprise_id))
            .where(*cond))
    total = session.scalar(select(func.count()).select_from(
        select(RobustnessResult.id).join(Enterprise,
                                         Enterprise.id == RobustnessResult.enterprise_id)
        .where(*cond).subquery())) or 0
    rows = session.execute(base.order_by(width.desc(), RobustnessResult.median_rank,
                                         RobustnessResult.enterprise_id)
                           .limit(limit).offset(offset)).all()
    out = []
    for res, uscc, name, points, rank, stage, tier in rows:
        out.append({"enterprise_id": res.enterprise_id, "uscc": uscc, "name": name,
                    "points": points, "rank": rank, "stage": stage, "list_tier": tier,
                    "median_rank": res.median_rank, "rank_p05": res.rank_p05,
                    "rank_p95": res.rank_p95, "width": res.rank_p95 - res.rank_p05,
                    "robust": bool(res.robust)})
    return int(total), out


def scoring_run(session: Session, run_id: int) -> ScoringRun | None:
    return session.get(ScoringRun, run_id)


def get_analysis(session: Session, analysis_id: int) -> RobustnessRun | None:
    """An analysis by id (unscoped: the service checks its scoring run)."""
    return session.get(RobustnessRun, analysis_id)


def add_analysis(session: Session, rr: RobustnessRun) -> RobustnessRun:
    """Stage a new analysis row and flush it (for its id)."""
    session.add(rr)
    session.flush()
    return rr


def result_count(session: Session, analysis_id: int) -> int:
    """How many enterprise results an analysis has."""
    return int(session.scalar(select(func.count()).select_from(RobustnessResult).where(
        RobustnessResult.analysis_id == analysis_id)) or 0)


def results_count_of_run(session: Session, run_id: int) -> int:
    """How many enterprise results a scoring run has."""
    return int(session.scalar(select(func.count()).select_from(ScoreResult).where(
        ScoreResult.run_id == run_id)) or 0)
