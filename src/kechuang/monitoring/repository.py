"""Every SQL statement of kechuang.monitoring: the enterprise-year frame of the indicators
(one pivoting query over the yearly facts), uploaded values and targets, key tasks, their
milestones and reports. Reads over enterprises are scoped by :mod:`kechuang.auth.scope`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.models import Department, Enterprise, Industry, Region, User
from kechuang.models.monitoring import (
    IndicatorTarget,
    IndicatorValue,
    MonitoringTask,
    TaskMilestone,
    TaskReport,
)


# --------------------------------------------------------------------------- regions
def region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def sub_regions(session: Session, code: str) -> list[Region]:
    """Towns, streets and parks directly under ``code``."""
    return list(session.scalars(select(Region).where(Region.parent_code == code)
                                .order_by(Region.level.desc(), Region.code)))


def regions_by_code(session: Session, codes: Sequence[str]) -> dict[str, Region]:
    if not codes:
        return {}
    return {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(list(codes))))}


def leaf_paths(session: Session, actor: Actor, region_path: str) -> dict[str, str]:
    """Region code → path of every region holding a visible enterprise under the path."""
    rows = session.execute(
        select(Region.code, Region.path).where(Region.code.in_(
            select(Enterprise.region_code).where(enterprise_visible(actor)).distinct()),
            Region.path.startswith(region_path, autoescape=True))).all()
    return {c: p for c, p in rows}


# --------------------------------------------------------------------------- enterprises
def enterprise_attributes(session: Session, actor: Actor, region_path: str) -> pd.DataFrame:
    """The visible enterprises under ``region_path`` with the derived columns the
    indicators use: enterprise_id, region_code, section, hte_expires_on, tech_sme_year,
    rd_institution_level (the facts themselves are read through kechuang.facts)."""
    in_region = Enterprise.region_code.in_(
        select(Region.code).where(Region.path.startswith(region_path, autoescape=True)))
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.region_code, Industry.section,
               Enterprise.hte_expires_on, Enterprise.tech_sme_year,
               Enterprise.rd_institution_level)
        .outerjoin(Industry, Industry.code == Enterprise.industry_code)
        .where(and_(enterprise_visible(actor), in_region))).fetchall()
    return pd.DataFrame.from_records(
        [tuple(r) for r in rows], columns=["enterprise_id", "region_code", "section",
                                           "hte_expires_on", "tech_sme_year",
                                           "rd_institution_level"])


# --------------------------------------------------------------------------- values, targets
def uploaded_values(session: Session, region_codes: Sequence[str], years: Sequence[int]
                    ) -> list[IndicatorValue]:
    return list(session.scalars(select(IndicatorValue).where(
        IndicatorValue.region_code.in_(list(region_codes)),
        IndicatorValue.year.in_(list(years)))))


def targets(session: Session, region_codes: Sequence[str], years: Sequence[int]
            ) -> list[IndicatorTarget]:
    return list(session.scalars(select(IndicatorTarget).where(
        IndicatorTarget.region_code.in_(list(region_codes)),
        IndicatorTarget.year.in_(list(years)))))


def upsert_value(session: Session, model: type[Any], field: str, *, region_code: str,
                 indicator_id: str, year: int, value: Decimal, user_id: int | None,
                 source: str | None = None) -> bool:
    """Insert or update one value or target; True when inserted."""
    row = session.scalar(select(model).where(
        model.region_code == region_code, model.indicator_id == indicator_id,
        model.year == year))
    if row is None:
        row = model(region_code=region_code, indicator_id=indicator_id, year=year,
                    created_by=user_id, **{field: value})
        if source is not None:
            row.source = source
        session.add(row)
        return True
    setattr(row, field, value)
    row.created_by = user_id
    row.updated_at = datetime.now(row.updated_at.tzinfo) if row.updated_at else None
    if source is not None:
        row.source = source
    return False


def known_regions(session: Session, codes: Sequence[str]) -> dict[str, str]:
    return dict(session.execute(select(Region.code, Region.path)
                                .where(Region.code.in_(list(codes)))).all())


def departments(session: Session) -> dict[str, tuple[str, str]]:
    return {c: (zh, en) for c, zh, en in session.execute(
        select(Department.code, Department.name_zh, Department.name_en))}


# --------------------------------------------------------------------------- tasks
def tasks_in(session: Session, region_path: str, *, department: str | None = None,
             year: int | None = None) -> list[MonitoringTask]:
    stmt = select(MonitoringTask).where(MonitoringTask.region_code.in_(
        select(Region.code).where(Region.path.startswith(region_path, autoescape=True))))
    if department:
        stmt = stmt.where(MonitoringTask.department_code == department)
    if year:
        stmt = stmt.where(MonitoringTask.year == year)
    return list(session.scalars(stmt.order_by(MonitoringTask.deadline, MonitoringTask.code)))


def task(session: Session, task_id: int) -> MonitoringTask | None:
    return session.get(MonitoringTask, task_id)


def task_by_code(session: Session, region_code: str, code: str) -> MonitoringTask | None:
    return session.scalar(select(MonitoringTask).where(
        MonitoringTask.region_code == region_code, MonitoringTask.code == code))


def add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def milestones(session: Session, task_ids: Sequence[int]) -> list[TaskMilestone]:
    if not task_ids:
        return []
    return list(session.scalars(select(TaskMilestone).where(
        TaskMilestone.task_id.in_(list(task_ids))).order_by(TaskMilestone.due_on)))


def reports(session: Session, task_ids: Sequence[int]) -> list[TaskReport]:
    if not task_ids:
        return []
    return list(session.scalars(select(TaskReport).where(
        TaskReport.task_id.in_(list(task_ids))).order_by(TaskReport.reported_at,
                                                         TaskReport.id)))


def department_users(session: Session, region_code: str) -> dict[str, int]:
    """Department code → id of a department account of the region."""
    rows = session.execute(select(User.department_code, func.min(User.id)).where(
        User.role == "department", User.department_code.is_not(None))
        .group_by(User.department_code)).all()
    return {str(d): int(i) for d, i in rows if d is not None}
