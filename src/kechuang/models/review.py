"""Expert review: pool profiles, conflicts, assignments, reviews, decisions.

A round is opened by ``programs.review_requested`` (one per call and stage); its subjects are
the applications (or gate reports) as the programs package sent them. Assignments change
state: ``active`` → ``withdrawn`` (a conflict declared afterwards; ``replaced_by_id`` points
at the alternate's row). Scores are per assignment; the decision is one row per round.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kechuang.db import ExactDecimal
from kechuang.models.base import Base, utcnow


class ReviewExpertProfile(Base):
    """The review side of an expert (the ``expert`` registry row stays as it is): keywords,
    discipline codes, affiliation as written, past collaborations, availability, load cap.
    ``collaborations``: [{"name": organisation or person, "year": int}]."""

    __tablename__ = "review_expert_profile"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), primary_key=True)
    keywords: Mapped[list] = mapped_column(default=list)
    discipline_codes: Mapped[list] = mapped_column(default=list)
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    collaborations: Mapped[list] = mapped_column(default=list)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    load_cap: Mapped[int] = mapped_column(Integer, default=5)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewRound(Base):
    __tablename__ = "review_round"
    __table_args__ = (UniqueConstraint("call_id", "stage", name="uq_review_round_call_stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(Integer)
    call_code: Mapped[str] = mapped_column(String(64))
    call_title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(32), default="application")
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    rubric_id: Mapped[str] = mapped_column(String(64))
    budget: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    fund_count: Mapped[int | None] = mapped_column(Integer)
    due: Mapped[datetime | None] = mapped_column()
    k: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    #: the last assignment's summary (status, total, worst, bounds, unserved)
    assignment_summary: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewSubject(Base):
    __tablename__ = "review_subject"
    __table_args__ = (UniqueConstraint("round_id", "subject_id",
                                       name="uq_review_subject_round_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_round.id", ondelete="CASCADE"),
                                          index=True)
    subject_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    requested_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    parties: Mapped[list] = mapped_column(default=list)
    named_people: Mapped[list] = mapped_column(default=list)


class ReviewConflict(Base):
    """A conflict of interest found by a rule or declared by the expert (``rule`` =
    same_org, named, collaboration, same_region…, declared)."""

    __tablename__ = "review_conflict"
    __table_args__ = (UniqueConstraint("subject_row_id", "expert_id", "rule",
                                       name="uq_review_conflict_subject_expert_rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_round.id", ondelete="CASCADE"),
                                          index=True)
    subject_row_id: Mapped[int] = mapped_column(
        ForeignKey("review_subject.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewAssignment(Base):
    __tablename__ = "review_assignment"
    __table_args__ = (Index("ix_review_assignment_expert_status", "expert_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_round.id", ondelete="CASCADE"),
                                          index=True)
    subject_row_id: Mapped[int] = mapped_column(
        ForeignKey("review_subject.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"))
    affinity: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="active")
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("review_assignment.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewScore(Base):
    """One expert's review of one subject: criterion scores, weighted total, comment."""

    __tablename__ = "review_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("review_assignment.id", ondelete="CASCADE"), unique=True)
    scores: Mapped[dict] = mapped_column(default=dict)
    total: Mapped[Decimal] = mapped_column(ExactDecimal())
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecisionRecord(Base):
    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_round.id", ondelete="CASCADE"),
                                          unique=True)
    ranked: Mapped[list] = mapped_column(default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[dict] = mapped_column(default=dict)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
