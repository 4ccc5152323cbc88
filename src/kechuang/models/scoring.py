"""Scoring runs (spec/scoring.md, "Scoring runs"; spec/architecture.md, "Runs are immutable").

A run scores every enterprise in scope for one year with one indicator-system version and
records what is needed to reproduce it: the system's id, version and file hash, the
parameters (list cut-offs, stage bands, …) and a hash of its inputs. Its results belong to
it and never change; "current" is the latest published run of a system in a scope.

Storage: one narrow ``score_result`` row per enterprise (points, ranks, percentile, list
tier, veto, change since last year) for listing and joining; the per-stage trace
(raw → imputed → treated → normalised → weight → contribution for every indicator, plus
every group's score) is stored column-wise in ``score_column``: one row per (run, column)
whose ``data`` is a float64 array aligned with the run's enterprise order (the column named
``enterprise_id``, int64). Writing 25 indicators × 6 stages for a million enterprises is
then 150 inserts of one array each instead of 150 million rows, and the Monte Carlo
analysis and the what-if panel read whole columns back with one query.

Points and ranks are analytics (float64), not money: amounts of dividends are Decimal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class ScoringRun(Base):
    """One scoring of one system version over the enterprises in a region scope."""

    __tablename__ = "scoring_run"
    __table_args__ = (Index("ix_scoring_run_system", "system_id", "year", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    system_version: Mapped[str] = mapped_column(String(20))
    system_name: Mapped[str] = mapped_column(String(200))
    #: sha256 of the system file's text
    system_hash: Mapped[str] = mapped_column(String(64))
    system_source: Mapped[str] = mapped_column(String(255))
    year: Mapped[int] = mapped_column(SmallInteger)
    #: everything besides the system that shaped the numbers (cut-offs, stage bands, …)
    parameters: Mapped[dict] = mapped_column()
    #: sha256 over the system hash, the parameters and every input value
    input_hash: Mapped[str] = mapped_column(String(64))
    #: region scope of the run (NULL = every region)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    vetoed: Mapped[int] = mapped_column(Integer, default=0)
    #: the indicator codes in trace order, and group codes
    indicators: Mapped[list] = mapped_column()
    groups: Mapped[list] = mapped_column()
    #: engine notes (indicators without data, winsorisation/log fallbacks) and treatment
    notes: Mapped[list] = mapped_column()
    treatment: Mapped[dict] = mapped_column()
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column()
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreResult(Base):
    """One enterprise's points and places in one run (written in bulk, never updated).

    ``rank`` is over every scored enterprise (the bureau's view, vetoed included);
    ``list_rank`` over the enterprises that may appear on published lists (veto applied);
    ``percentile`` is the share of scored enterprises at or below this one's points, in
    [0, 100] (higher is better). ``stage`` is the revenue stage (初创/成长/稳定) and
    ``list_tier`` the percentile list it falls in within its stage (e.g. ``lead`` 领跑榜,
    ``race`` 竞跑榜, ``advance`` 进取榜) — NULL when vetoed or below every cut-off.
    """

    __tablename__ = "score_result"
    __table_args__ = (
        Index("ix_score_result_run_enterprise", "run_id", "enterprise_id", unique=True),
        Index("ix_score_result_run_rank", "run_id", "rank"),
        Index("ix_score_result_enterprise", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_run.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    points: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    list_rank: Mapped[int | None] = mapped_column(Integer)
    percentile: Mapped[float | None] = mapped_column(Float)
    rank_industry: Mapped[int | None] = mapped_column(Integer)
    rank_region: Mapped[int | None] = mapped_column(Integer)
    rank_cohort: Mapped[int | None] = mapped_column(Integer)
    industry_section: Mapped[str | None] = mapped_column(String(1))
    region_code: Mapped[str | None] = mapped_column(String(12))
    stage: Mapped[str | None] = mapped_column(String(10))
    list_tier: Mapped[str | None] = mapped_column(String(20))
    veto: Mapped[str | None] = mapped_column(String(200))
    prev_points: Mapped[float | None] = mapped_column(Float)
    prev_rank: Mapped[int | None] = mapped_column(Integer)
    #: scores of the system's groups {code: score}
    groups: Mapped[dict] = mapped_column()


class ScoreColumn(Base):
    """One column of a run's trace, as a little-endian array aligned with the run's
    enterprise order (see module docstring). Names: ``enterprise_id`` (int64);
    ``raw:<ind>``, ``imputed:<ind>``, ``treated:<ind>``, ``normalised:<ind>``,
    ``weight:<ind>``, ``contribution:<ind>`` and ``score:<node>`` (float64, NaN = missing)."""

    __tablename__ = "score_column"
    __table_args__ = (Index("ix_score_column_run_name", "run_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_run.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    dtype: Mapped[str] = mapped_column(String(10))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RobustnessRun(Base):
    """A Monte Carlo uncertainty analysis of one scoring run (spec/scoring.md, "robust")."""

    __tablename__ = "robustness_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scoring_run_id: Mapped[int] = mapped_column(
        ForeignKey("scoring_run.id", ondelete="CASCADE"), index=True)
    replications: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    #: the uncertain choices and their ranges
    parameters: Mapped[dict] = mapped_column()
    #: {factor: {"S1": .., "S1_conf": .., "ST": .., "ST_conf": ..}}
    sensitivity: Mapped[dict] = mapped_column()
    #: how "not robust" was decided, e.g. {"interval_width": 10}
    rule: Mapped[dict] = mapped_column()
    unstable: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RobustnessResult(Base):
    """Median rank and 90% rank interval of one enterprise under the analysis."""

    __tablename__ = "robustness_result"
    __table_args__ = (
        Index("ix_robustness_result_run_enterprise", "analysis_id", "enterprise_id",
              unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("robustness_run.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    median_rank: Mapped[float] = mapped_column(Float)
    rank_p05: Mapped[float] = mapped_column(Float)
    rank_p95: Mapped[float] = mapped_column(Float)
    robust: Mapped[bool] = mapped_column(Boolean)
