"""Eligibility runs: one immutable ``policy_run`` per policy evaluation, with its results.

A run records everything needed to reproduce it — the policy file's hash, the as-of date,
the evaluation year, the parameters in force and a hash of the inputs — and its results
belong to it and never change. "Current" is the latest run of a policy (highest id).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String
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


class PolicyResultBlock(Base):
    """The results of one run for a block of consecutive enterprises (by id), stored as
    one compressed Parquet table (:mod:`kechuang.policy.blocks`) and never updated.

    Columnar blocks rather than a row per enterprise: a run over 100,000 enterprises writes
    about a dozen blocks per policy instead of 100,000 rows (the row inserts cost more
    than the evaluation itself), the leaf values and failed leaves are typed columns instead
    of JSON text repeated on every row, and whole-run reads (counts, push, tiers) decode
    columns in C. One enterprise's result is one block read (the block whose id range
    holds it). Each block holds, per enterprise: ``enterprise_id``, ``verdict``,
    ``n_failed``, ``score``/``score_min``/``score_max``, ``input_hash`` (a hash of the
    enterprise's input rows, so that a display re-evaluating it can tell whether the data
    are still those of the run), ``missing`` (input atoms such as ``rd_expense(2021)``,
    joined by ``;``), and per leaf ``failed:<leaf>`` and per leaf or estimate the tested
    value as ``lo:<id>``/``hi:<id>`` (equal for a number, NaN when an input is missing).
    """

    __tablename__ = "policy_result_block"
    __table_args__ = (
        Index("ix_policy_result_block_run", "run_id", "first_enterprise_id", unique=True),
        # the enterprise page's lookup ("which blocks hold enterprise e") reads this index only
        Index("ix_policy_result_block_range", "first_enterprise_id", "last_enterprise_id",
              "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_run.id", ondelete="CASCADE"))
    first_enterprise_id: Mapped[int] = mapped_column(Integer)
    last_enterprise_id: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
