"""Eligibility runs: one immutable ``policy_run`` per policy evaluation, with its results.

A run records everything needed to reproduce it — the policy file's hash, the as-of date,
the evaluation year, the parameters in force and a hash of the inputs — and its results
belong to it and never change. "Current" is the latest run of a policy (highest id).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.models.base import Base, utcnow


class PolicyRun(Base):
    """One evaluation of one policy over the enterprises in the actor's scope."""

    __tablename__ = "policy_run"
    __table_args__ = (Index("ix_policy_run_policy", "policy_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(200))
    #: sha256 of the policy file's text: the "version" the results belong to
    policy_hash: Mapped[str] = mapped_column(String(64))
    policy_source: Mapped[str] = mapped_column(String(255))
    as_of: Mapped[date] = mapped_column()
    eval_year: Mapped[int] = mapped_column(SmallInteger)
    #: parameters in force: {name: {"value": v, "ref": legal reference}}
    parameters: Mapped[dict] = mapped_column()
    pass_mark: Mapped[float | None] = mapped_column(Float)
    #: sha256 over the policy hash, the as-of date and every enterprise's input rows
    input_hash: Mapped[str] = mapped_column(String(64))
    #: region scope of the run (the actor's region; NULL = every region)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    #: {verdict: count}
    counts: Mapped[dict] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyResult(Base):
    """The verdict of one enterprise in one run (written in bulk, never updated).

    ``values`` holds the tested value of every leaf and estimate as the ``policy eval``
    output writes it (a number, or ``"lo-hi"`` for a range); ``failed`` and ``missing`` are
    lists of leaf ids and input atoms (``rd_expense(2021)``). ``input_hash`` is a hash of
    this enterprise's input rows, so that a display that re-evaluates one enterprise (to
    format its gap sentences) can tell whether the data are still those of the run.
    """

    __tablename__ = "policy_result"
    __table_args__ = (
        Index("ix_policy_result_run_enterprise", "run_id", "enterprise_id", unique=True),
        Index("ix_policy_result_enterprise", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_run.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    score_min: Mapped[float | None] = mapped_column(Float)
    score_max: Mapped[float | None] = mapped_column(Float)
    failed: Mapped[list] = mapped_column()
    missing: Mapped[list] = mapped_column()
    values: Mapped[dict] = mapped_column()
    input_hash: Mapped[int] = mapped_column(BigInteger)
