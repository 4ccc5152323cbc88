"""Every SQL statement of kechuang.carbon: the monthly facts read into one frame, the
evaluation and its grade blocks written in bulk, and the pages' aggregates. Reads over
enterprises are scoped by :mod:`kechuang.auth.scope`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope, regions_in_scope
from kechuang.carbon import blocks
from kechuang.models import Enterprise, Region
from kechuang.models.monitoring import CarbonEvaluation, CarbonGradeBlock

#: the monthly facts the grading reads (column → metric code); energy use is shown beside
#: the grade but is no input of it (DB33/T 1347-2023 grades CO₂ per value added)
MONTHLY_METRICS = {"co2_t": "co2_t", "value_added_wan": "value_added_month"}


def region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def add_evaluation(session: Session, **values: Any) -> CarbonEvaluation:
    ev = CarbonEvaluation(**values)
    session.add(ev)
    session.flush()
    return ev


def delete_earlier_grades(session: Session, region_code: str | None, keep_id: int) -> int:
    """Grade blocks of earlier evaluations of the same region scope (the evaluation rows
    stay, with their counts)."""
    scope = (CarbonEvaluation.region_code.is_(None) if region_code is None
             else CarbonEvaluation.region_code == region_code)
    old = select(CarbonEvaluation.id).where(scope, CarbonEvaluation.id != keep_id)
    result = session.execute(delete(CarbonGradeBlock)
                             .where(CarbonGradeBlock.evaluation_id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert_grades(session: Session, evaluation_id: int, frame: pd.DataFrame) -> int:
    """The evaluation's grades as blocks (:mod:`kechuang.carbon.blocks`); the row count."""
    rows = blocks.split(evaluation_id, frame)
    if rows:
        session.execute(insert(CarbonGradeBlock), rows)
    return len(frame)


def latest_evaluation(session: Session, actor: Actor) -> CarbonEvaluation | None:
    """The latest evaluation that still has grades and covers the actor's region: over every
    region, or over a region on the actor's path (its own region or an ancestor)."""
    has_rows = select(CarbonGradeBlock.id).where(
        CarbonGradeBlock.evaluation_id == CarbonEvaluation.id).exists()
    stmt = select(CarbonEvaluation).where(has_rows)
    if actor.region_path != "/":
        ancestors = [c for c in actor.region_path.strip("/").split("/") if c]
        stmt = stmt.where(CarbonEvaluation.region_code.is_(None)
                          | CarbonEvaluation.region_code.in_(ancestors))
    return session.scalar(stmt.order_by(CarbonEvaluation.id.desc()).limit(1))


def evaluations(session: Session, actor: Actor, limit: int = 20) -> list[CarbonEvaluation]:
    """Evaluations over the actor's subtree, and those over a region containing it (an
    evaluation over every region, or the county's, seen by a town): the ones whose grades
    the actor reads."""
    stmt = select(CarbonEvaluation)
    if actor.region_path != "/":
        ancestors = [c for c in actor.region_path.strip("/").split("/") if c]
        stmt = stmt.where(region_code_in_scope(actor, CarbonEvaluation.region_code)
                          | CarbonEvaluation.region_code.is_(None)
                          | CarbonEvaluation.region_code.in_(ancestors))
    return list(session.scalars(stmt.order_by(CarbonEvaluation.id.desc()).limit(limit)))


def periods(session: Session, evaluation_id: int) -> list[int]:
    return list(session.scalars(
        select(CarbonGradeBlock.period).where(CarbonGradeBlock.evaluation_id == evaluation_id)
        .distinct().order_by(CarbonGradeBlock.period)))


def _scoped(session: Session, actor: Actor, frame: pd.DataFrame) -> pd.DataFrame:
    """The decoded rows the actor may read: an enterprise its own, a bureau account its
    region subtree, anyone else nothing (the same rule as :func:`enterprise_visible`)."""
    if actor.role == "enterprise":
        keep = frame["enterprise_id"].to_numpy() == (actor.enterprise_id or -1)
    elif actor.is_bureau:
        if actor.region_path == "/":
            return frame
        codes = list(session.scalars(select(Region.code).where(regions_in_scope(actor))))
        keep = frame["region_code"].isin(codes).to_numpy()
    else:
        keep = np.zeros(len(frame), dtype=bool)
    return frame[keep].reset_index(drop=True)


def _blocks(session: Session, *conditions: Any) -> list[tuple[int, bytes]]:
    rows = session.execute(select(CarbonGradeBlock.period, CarbonGradeBlock.data)
                           .where(*conditions)
                           .order_by(CarbonGradeBlock.period,
                                     CarbonGradeBlock.first_enterprise_id)).all()
    return [(int(p), bytes(d)) for p, d in rows]


def grade_counts(session: Session, actor: Actor, evaluation_id: int) -> pd.DataFrame:
    """(period, grade, n) over the actor's scope."""
    frame = _scoped(session, actor, blocks.decode(
        _blocks(session, CarbonGradeBlock.evaluation_id == evaluation_id),
        columns=["enterprise_id", "region_code", "grade"]))
    graded = frame[frame["grade"].notna()]
    counts = graded.groupby(["period", "grade"]).size().reset_index(name="n")
    return counts[["period", "grade", "n"]]


GRADE_READ = ["enterprise_id", "uscc", "name", "class_code", "region_code", "period",
              "intensity", "carbon_level", "benchmark", "benchmark_level", "ratio", "grade",
              "industry_rank", "industry_count", "region_rank", "region_count", "alert"]


def _with_names(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with the enterprises' uscc and name (read for these enterprises only)."""
    ids = sorted(set(frame["enterprise_id"].tolist()))
    names = pd.DataFrame.from_records(
        [tuple(r) for r in session.execute(
            select(Enterprise.id, Enterprise.uscc, Enterprise.name)
            .where(Enterprise.id.in_(ids)))] if ids else [],
        columns=["enterprise_id", "uscc", "name"])
    names["enterprise_id"] = names["enterprise_id"].astype(np.int64)
    out = frame.merge(names, on="enterprise_id", how="inner")
    out["alert"] = out["alert"].fillna("")
    return out[GRADE_READ]


def period_grades(session: Session, actor: Actor, evaluation_id: int, period: int
                  ) -> pd.DataFrame:
    """Every row of one month in the actor's scope, with the enterprise's uscc and name,
    best ratio first (ungraded rows last), ties by uscc."""
    frame = _scoped(session, actor, blocks.decode(_blocks(
        session, CarbonGradeBlock.evaluation_id == evaluation_id,
        CarbonGradeBlock.period == period)))
    out = _with_names(session, frame)
    return out.sort_values(["ratio", "uscc"], na_position="last",
                           kind="stable").reset_index(drop=True)


def enterprise_grades(session: Session, actor: Actor, evaluation_id: int,
                      enterprise_id: int) -> pd.DataFrame:
    frame = blocks.decode(_blocks(
        session, CarbonGradeBlock.evaluation_id == evaluation_id,
        CarbonGradeBlock.first_enterprise_id <= enterprise_id,
        CarbonGradeBlock.last_enterprise_id >= enterprise_id))
    frame = _scoped(session, actor, frame[frame["enterprise_id"] == enterprise_id])
    return _with_names(session, frame).sort_values("period").reset_index(drop=True)


def enterprise_by_uscc(session: Session, actor: Actor, uscc: str) -> Enterprise | None:
    return session.scalar(select(Enterprise).where(Enterprise.uscc == uscc,
                                                   enterprise_visible(actor)))


def region_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {c: n for c, n in session.execute(
        select(Region.code, Region.name).where(Region.code.in_(list(codes))))}


def uscc_of(session: Session, enterprise_id: int) -> str | None:
    return session.scalar(select(Enterprise.uscc).where(Enterprise.id == enterprise_id))
