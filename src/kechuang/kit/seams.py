"""Payloads that cross between capability packages through :mod:`kechuang.kit.events`.

They live in the kit, below every domain package, so that a producer and a consumer share a
typed contract without importing each other (the layering rule of docs/architecture.md).

Programs ↔ expert review (spec/programs.md, "Expert review"):

- ``programs.review_requested`` (``session``, ``actor``, ``request``: :class:`ReviewRequest`):
  a call's applications (or a 赛马 gate's milestone reports) have reached expert review;
  review opens a round, assigns reviewers and collects scores.
- ``review.decision_recorded`` (``session``, ``actor``, ``decision``:
  :class:`ReviewDecision`): the bureau decided on a round; programs moves each application
  on (funded → contract / next gate; not funded → closed) and pays through the ledger.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReviewParty(BaseModel):
    """An organisation behind an application: the applicant, a consortium member or a
    partner named in it. Conflicts of interest are checked against these."""

    model_config = ConfigDict(extra="forbid")

    org_type: Literal["enterprise", "institute", "other"]
    org_id: int | None = None
    name: str
    role: Literal["lead", "member", "partner"] = "lead"
    region_code: str | None = None


class ReviewSubject(BaseModel):
    """One thing to review: an application, a bid or a gate's milestone report."""

    model_config = ConfigDict(extra="forbid")

    subject_id: int  # the program package's application (or gate report) id
    title: str
    text: str  # what reviewers' fields are matched against (problem, plan, keywords)
    requested_amount: Decimal | None = None
    parties: list[ReviewParty] = Field(default_factory=list)
    named_people: list[str] = Field(default_factory=list)  # co-authors / partners named


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: int
    call_code: str
    call_title: str
    stage: str = "application"  # or "gate:1", "gate:2", … for 赛马 stage gates
    region_code: str
    rubric_id: str  # a review rubric shipped as YAML (criteria, weights, scales)
    budget: Decimal | None = None  # what the decision may fund in total
    fund_count: int | None = None  # 赛马: how many continue / win; None = as budget allows
    due: datetime | None = None
    subjects: list[ReviewSubject]


class RankedSubject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: int
    rank: int
    score: Decimal
    funded: bool
    amount: Decimal | None = None
    note: str = ""  # why funded or not (cut-off, tie, budget left)


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: int
    stage: str
    round_id: int
    decided_at: datetime
    ranked: list[RankedSubject]
    summary: str = ""  # the cut-off and ties explained, in Chinese
