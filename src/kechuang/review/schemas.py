"""Pydantic models at the edge of expert review: rule files, rubric files, API bodies and
responses."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kechuang.kit.rules import RuleHeader


# --------------------------------------------------------------------------- rule files
class ConflictRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    same_organisation: bool = True
    named_people: bool = True
    declared: bool = True
    collaboration_years: int = Field(ge=0, le=50)
    same_region: bool = False


class AssignmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(ge=1, le=20)
    alternates: int = Field(ge=0, le=20)
    default_load_cap: int = Field(ge=0, le=1000)
    candidates: int = Field(ge=1, le=10_000)


class AggregationRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    normalise: bool
    normalise_min_reviews: int = Field(ge=2, le=100)
    trim: int = Field(ge=0, le=5)
    disagreement_spread: float = Field(ge=0)


class ReviewRules(RuleHeader):
    conflicts: ConflictRules
    assignment: AssignmentRules
    aggregation: AggregationRules


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float
    max: float


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    name_en: str
    weight: float = Field(gt=0, le=1)
    scale: Scale


class Rubric(RuleHeader):
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> Rubric:
        total = sum(c.weight for c in self.criteria)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"权重之和应为 1，实为 {total:g}")
        keys = [c.key for c in self.criteria]
        if len(set(keys)) != len(keys):
            raise ValueError("评分项 key 重复")
        return self


# --------------------------------------------------------------------------- API
class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[str, float]
    comment: str = Field(default="", max_length=5000)


class ConflictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=300)


class Collaboration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=1950, le=2100)


class ProfileIn(BaseModel):
    """What an expert maintains: keywords, discipline codes, affiliation, past
    collaborations, availability and the per-call load cap."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list, max_length=50)
    discipline_codes: list[str] = Field(default_factory=list, max_length=20)
    affiliation: str = Field(default="", max_length=200)
    collaborations: list[Collaboration] = Field(default_factory=list, max_length=200)
    available: bool = True
    load_cap: int = Field(default=5, ge=0, le=1000)


class ProfileOut(ProfileIn):
    expert_id: int


class RoundOut(BaseModel):
    id: int
    call_id: int
    call_code: str
    call_title: str
    stage: str
    region_code: str
    rubric_id: str
    status: str
    k: int
    budget: Decimal | None
    due: datetime | None
    subjects: int
    assignments: int
    reviews: int


class AssignmentOut(BaseModel):
    id: int
    round_id: int
    subject_id: int
    title: str
    status: str
    reviewed: bool


class RepairOut(BaseModel):
    withdrawn_id: int
    replacement_id: int | None
    replacement_expert_id: int | None
    message: str


class ReviewOut(BaseModel):
    assignment_id: int
    total: Decimal


class RankedOut(BaseModel):
    subject_id: int
    title: str
    rank: int
    score: float | None
    reviews: int
    spread: float | None
    flagged: bool
    requested_amount: Decimal | None
    funded: bool
    amount: Decimal | None
    note: str


class RankingOut(BaseModel):
    round_id: int
    decided: bool
    summary: str
    ranked: list[RankedOut]


class OverdueOut(BaseModel):
    assignment_id: int
    round_id: int
    call_title: str
    subject_id: int
    expert_id: int
    expert_name: str
    due: datetime | None


class SummaryOut(BaseModel):
    round_id: int
    status: str
    summary: dict[str, object]
