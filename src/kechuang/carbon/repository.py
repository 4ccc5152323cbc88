"""Every SQL statement of kechuang.carbon: the monthly facts read into one frame, the
evaluation and its grade rows written in bulk, and the pages' aggregates. Reads over
enterprises are scoped by :mod:`kechuang.auth.scope`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import bulk_insert
from kechuang.models import Enterprise, Region
from kechuang.models.monitoring import CarbonEvaluation, CarbonGrade

MONTHLY_METRICS = {"co2_t": "co2_t", "value_added_wan": "value_added_month",
                   "energy_tce": "energy_tce"}
GRADE_COLUMNS = ["evaluation_id", "enterprise_id", "period", "class_code", "region_code",
                 "intensity", "carbon_level", "benchmark", "benchmark_level", "ratio", "grade",
                 "industry_rank", "industry_count", "region_rank", "region_count", "alert"]


def region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def add_evaluation(session: Session, **values: Any) -> CarbonEvaluation:
    ev = CarbonEvaluation(**values)
    session.add(ev)
    session.flush()
    return ev


def delete_earlier_grades(session: Session, region_code: str | None, keep_id: int) -> int:
    """Grade rows of earlier evaluations of the same region scope (the evaluation rows stay)."""
    scope = (CarbonEvaluation.region_code.is_(None) if region_code is None
             else CarbonEvaluation.region_code == region_code)
    old = select(CarbonEvaluation.id).where(scope, CarbonEvaluation.id != keep_id)
    result = session.execute(delete(CarbonGrade).where(CarbonGrade.evaluation_id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert_grades(session: Session, columns: dict[str, list[Any]]) -> int:
    return bulk_insert(session, "carbon_grade", GRADE_COLUMNS,
                       [columns[c] for c in GRADE_COLUMNS])


def latest_evaluation(session: Session, actor: Actor) -> CarbonEvaluation | None:
    """The latest evaluation that still has grades and covers the actor's region: over every
    region, or over a region on the actor's path (its own region or an ancestor)."""
    has_rows = select(CarbonGrade.id).where(
        CarbonGrade.evaluation_id == CarbonEvaluation.id).exists()
    stmt = select(CarbonEvaluation).where(has_rows)
    if actor.region_path != "/":
        ancestors = [c for c in actor.region_path.strip("/").split("/") if c]
        stmt = stmt.where(CarbonEvaluation.region_code.is_(None)
                          | CarbonEvaluation.region_code.in_(ancestors))
    return session.scalar(stmt.order_by(CarbonEvaluation.id.desc()).limit(1))


def evaluations(session: Session, actor: Actor, limit: int = 20) -> list[CarbonEvaluation]:
    stmt = select(CarbonEvaluation)
    if actor.region_path != "/":
        stmt = stmt.where(region_code_in_scope(actor, CarbonEvaluation.region_code))
    return list(session.scalars(stmt.order_by(CarbonEvaluation.id.desc()).limit(limit)))


def _grade_scope(actor: Actor) -> Any:
    if actor.role == "enterprise":
        return CarbonGrade.enterprise_id == (actor.enterprise_id or -1)
    if actor.is_bureau:
        return region_code_in_scope(actor, CarbonGrade.region_code)
    return False


def periods(session: Session, evaluation_id: int) -> list[int]:
    return list(session.scalars(
        select(CarbonGrade.period).where(CarbonGrade.evaluation_id == evaluation_id)
        .distinct().order_by(CarbonGrade.period)))


def grade_counts(session: Session, actor: Actor, evaluation_id: int) -> pd.DataFrame:
    """(period, grade, n) over the actor's scope."""
    rows = session.execute(
        select(CarbonGrade.period, CarbonGrade.grade, func.count())
        .where(CarbonGrade.evaluation_id == evaluation_id, CarbonGrade.grade.is_not(None),
               _grade_scope(actor))
        .group_by(CarbonGrade.period, CarbonGrade.grade)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows],
                                     columns=["period", "grade", "n"])


def period_grades(session: Session, actor: Actor, evaluation_id: int, period: int
                  ) -> pd.DataFrame:
    """Every row of one month in the actor's scope, with the enterprise's uscc and name."""
    rows = session.execute(
        select(CarbonGrade.enterprise_id, Enterprise.uscc, Enterprise.name,
               CarbonGrade.class_code, CarbonGrade.region_code, CarbonGrade.period,
               CarbonGrade.intensity, CarbonGrade.carbon_level, CarbonGrade.benchmark,
               CarbonGrade.benchmark_level, CarbonGrade.ratio, CarbonGrade.grade,
               CarbonGrade.industry_rank, CarbonGrade.industry_count, CarbonGrade.region_rank,
               CarbonGrade.region_count, CarbonGrade.alert)
        .join(Enterprise, Enterprise.id == CarbonGrade.enterprise_id)
        .where(CarbonGrade.evaluation_id == evaluation_id, CarbonGrade.period == period,
               _grade_scope(actor))
        .order_by(CarbonGrade.ratio, Enterprise.uscc)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=GRADE_READ)


GRADE_READ = ["enterprise_id", "uscc", "name", "class_code", "region_code", "period",
              "intensity", "carbon_level", "benchmark", "benchmark_level", "ratio", "grade",
              "industry_rank", "industry_count", "region_rank", "region_count", "alert"]


def enterprise_grades(session: Session, actor: Actor, evaluation_id: int,
                      enterprise_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(CarbonGrade.enterprise_id, Enterprise.uscc, Enterprise.name,
               CarbonGrade.class_code, CarbonGrade.region_code, CarbonGrade.period,
               CarbonGrade.intensity, CarbonGrade.carbon_level, CarbonGrade.benchmark,
               CarbonGrade.benchmark_level, CarbonGrade.ratio, CarbonGrade.grade,
               CarbonGrade.industry_rank, CarbonGrade.industry_count, CarbonGrade.region_rank,
               CarbonGrade.region_count, CarbonGrade.alert)
        .join(Enterprise, Enterprise.id == CarbonGrade.enterprise_id)
        .where(CarbonGrade.evaluation_id == evaluation_id,
               CarbonGrade.enterprise_id == enterprise_id, _grade_scope(actor))
        .order_by(CarbonGrade.period)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=GRADE_READ)


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
