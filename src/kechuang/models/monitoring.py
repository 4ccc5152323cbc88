"""Tables of kechuang.monitoring (regional indicators, targets, key tasks, milestones and
status reports) and kechuang.carbon (monthly carbon-efficiency evaluations and grades).

Indicators computed from enterprise facts are computed when read (never stored); only the
uploaded values (GDP, R&D intensity…) and the targets are rows here. A carbon evaluation is
the evidence of one grading run over the monthly facts: its grades are kept for the pages
(the latest evaluation of a region replaces the grade blocks of the earlier ones; the
evaluation rows stay, with their counts)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow


# --------------------------------------------------------------------------- indicators
class IndicatorValue(Base):
    """An uploaded value of a regional indicator for one region and year."""

    __tablename__ = "indicator_value"
    __table_args__ = (
        Index("uq_indicator_value_key", "region_code", "indicator_id", "year", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    indicator_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(ExactDecimal())
    source: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndicatorTarget(Base):
    """The target of a regional indicator for one region and year."""

    __tablename__ = "indicator_target"
    __table_args__ = (
        Index("uq_indicator_target_key", "region_code", "indicator_id", "year", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    indicator_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    target: Mapped[Decimal] = mapped_column(ExactDecimal())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- tasks
class MonitoringTask(Base):
    """A key task (重点任务) of a region's list, owned by one department."""

    __tablename__ = "monitoring_task"
    __table_args__ = (
        Index("uq_monitoring_task_code", "region_code", "code", unique=True),
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class TaskMilestone(Base):
    __tablename__ = "task_milestone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("monitoring_task.id", ondelete="CASCADE"),
                                         index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)


class TaskReport(Base):
    """A status report filed by the owner department's account."""

    __tablename__ = "task_report"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        CheckConstraint("status IN ('on_track', 'at_risk', 'delayed', 'done')", name="status"),
        Index("ix_task_report_task_reported", "task_id", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("monitoring_task.id", ondelete="CASCADE"))
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    progress: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- carbon
class CarbonEvaluation(Base):
    __tablename__ = "carbon_evaluation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    first_period: Mapped[int] = mapped_column(Integer)
    last_period: Mapped[int] = mapped_column(Integer)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    graded: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    #: rule id and min_cohort used
    parameters: Mapped[dict] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CarbonGradeBlock(Base):
    """The grades of one evaluation for one month and a run of consecutive enterprises (by
    id), stored as one compressed Parquet table (:mod:`kechuang.carbon.blocks`) and never
    updated. Per enterprise-month: ``enterprise_id``, ``class_code``, ``region_code``,
    ``intensity``, ``carbon_level``, ``benchmark``, ``benchmark_level``, ``ratio``,
    ``grade``, the industry and region ranks and counts, ``alert`` (ungraded months are
    kept, with empty evaluation columns). ``graded`` counts the block's graded rows."""

    __tablename__ = "carbon_grade_block"
    __table_args__ = (
        Index("ix_carbon_grade_block_eval", "evaluation_id", "period", "first_enterprise_id",
              unique=True),
        # an enterprise's page reads this index only: which blocks hold enterprise e
        Index("ix_carbon_grade_block_range", "first_enterprise_id", "last_enterprise_id",
              "evaluation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_evaluation.id", ondelete="CASCADE"))
    period: Mapped[int] = mapped_column(Integer)
    first_enterprise_id: Mapped[int] = mapped_column(Integer)
    last_enterprise_id: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    graded: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
