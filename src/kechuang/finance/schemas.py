"""Pydantic models at the edges of technology finance: form and JSON input, API output."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["credit", "ip_pledge", "guarantee", "points_loan"]
Collateral = Literal["patent", "property", "equipment", "receivable", "guarantee"]
Urgency = Literal["low", "normal", "high"]
Wan = Decimal


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductIn(_In):
    name: str = Field(min_length=2, max_length=120)
    kind: Kind
    amount_min_wan: Decimal = Field(gt=0, le=1_000_000, decimal_places=2)
    amount_max_wan: Decimal = Field(gt=0, le=1_000_000, decimal_places=2)
    term_min_months: int = Field(ge=1, le=360)
    term_max_months: int = Field(ge=1, le=360)
    rate_pct: Decimal = Field(ge=0, le=36, decimal_places=4)
    description: str = Field(default="", max_length=4000)
    #: the condition tree as YAML text (the policy language)
    eligibility: str = Field(min_length=3, max_length=20_000)

    @model_validator(mode="after")
    def _ranges(self) -> ProductIn:
        if self.amount_min_wan > self.amount_max_wan:
            raise ValueError("额度下限大于上限 amount_min_wan > amount_max_wan")
        if self.term_min_months > self.term_max_months:
            raise ValueError("期限下限大于上限 term_min_months > term_max_months")
        return self


class NeedIn(_In):
    amount_wan: Decimal = Field(gt=0, le=1_000_000, decimal_places=2)
    term_months: int = Field(ge=1, le=360)
    purpose: str = Field(min_length=2, max_length=2000)
    collateral: list[Collateral] = Field(default_factory=list)
    patents_offered: int = Field(default=0, ge=0, le=10_000)
    urgency: Urgency = "normal"

    @field_validator("collateral")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    @model_validator(mode="after")
    def _patents(self) -> NeedIn:
        if "patent" in self.collateral and self.patents_offered < 1:
            raise ValueError("以专利质押时须填写可质押的专利件数 patents_offered ≥ 1")
        return self


class ConsentIn(_In):
    bank_id: int = Field(ge=1, le=2**31 - 1)
    days: int | None = Field(default=None, ge=1, le=3650)


class MonthIn(_In):
    month: int = Field(ge=200001, le=210012)
    closes_on: date
    region_code: str | None = Field(default=None, max_length=12)

    @field_validator("month")
    @classmethod
    def _month(cls, v: int) -> int:
        if not 1 <= v % 100 <= 12:
            raise ValueError("月份应为 YYYYMM，如 202405")
        return v


class ConsultationIn(_In):
    quarter: int = Field(ge=20001, le=21004)
    held_on: date
    title: str = Field(min_length=2, max_length=200)
    venue: str = Field(default="", max_length=200)
    participants: list[str] = Field(default_factory=list, max_length=200)
    enterprise_ids: list[int] = Field(default_factory=list, max_length=500)
    bank_ids: list[int] = Field(default_factory=list, max_length=200)
    notes: str = Field(default="", max_length=10_000)

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, v: int) -> int:
        if not 1 <= v % 10 <= 4:
            raise ValueError("季度应为 YYYYQ，如 20241")
        return v


class OutcomeIn(_In):
    result: Literal["granted", "declined"]
    bank_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    product_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    amount_wan: Decimal | None = Field(default=None, gt=0, le=1_000_000, decimal_places=2)
    rate_pct: Decimal | None = Field(default=None, ge=0, le=36, decimal_places=4)
    decided_on: date
    reason: str = Field(default="", max_length=2000)
    consultation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    term_months: int | None = Field(default=None, ge=1, le=360)
    first_time: bool = False
    pool_eligible: bool = True

    @model_validator(mode="after")
    def _complete(self) -> OutcomeIn:
        if self.result == "granted":
            if self.bank_id is None or self.amount_wan is None or self.rate_pct is None:
                raise ValueError("放款须填写银行、金额和利率 bank, amount and rate are required")
        elif not self.reason:
            raise ValueError("未获贷款须填写原因 a declined need needs a reason")
        return self


class DefaultIn(_In):
    default_wan: Decimal = Field(gt=0, le=1_000_000, decimal_places=2)
    defaulted_on: date


class RecoveryIn(_In):
    amount_yuan: Decimal = Field(gt=0, le=10_000_000_000, decimal_places=2)
    memo: str = Field(default="", max_length=500)


# --------------------------------------------------------------------------- output
class ProductOut(BaseModel):
    id: int
    code: str
    bank_id: int
    bank: str
    name: str
    kind: str
    amount_min_wan: Decimal
    amount_max_wan: Decimal
    term_min_months: int
    term_max_months: int
    rate_pct: Decimal
    status: str
    eligibility: dict


class MatchOut(BaseModel):
    rank: int
    product_id: int
    product: str
    bank_id: int
    bank: str
    kind: str
    score: float
    verdict: str
    parts: dict[str, float]
    reason: str


class NeedOut(BaseModel):
    id: int
    month: int
    amount_wan: Decimal
    term_months: int
    purpose: str
    collateral: list[str]
    patents_offered: int
    urgency: str
    status: str
    editable: bool
    credit_line_wan: Decimal | None
    points_tier: str | None
    matches: list[MatchOut]


class MatchRunOut(BaseModel):
    run_id: int
    needs: int
    products: int
    pairs: int
    as_of: date


class BankNeedRow(BaseModel):
    """A matched need as a bank sees it: identity only after consent."""

    ref: str
    need_id: int | None
    enterprise: str | None
    uscc: str | None
    purpose: str | None
    month: int
    amount_wan: Decimal
    term_months: int
    collateral: list[str]
    urgency: str
    product_id: int
    rank: int
    score: float
    verdict: str


class BankMatchesOut(BaseModel):
    bank: str
    consented: list[BankNeedRow]
    anonymous: list[BankNeedRow]
    #: needs matched without consent; None when suppressed (fewer than ``min_count``)
    anonymous_count: int | None
    min_count: int


class BankNeedOut(BaseModel):
    need: BankNeedRow
    credit_line_wan: Decimal | None
    points_tier: str | None
    consent_expires_at: datetime


class BankFiguresOut(BaseModel):
    key: str
    loans: int
    amount_wan: Decimal
    previous_wan: Decimal
    growth: Decimal | None
    credit_share: Decimal | None
    first_time_share: Decimal | None
    avg_rate_pct: Decimal | None
    score: float
    rank: int


class AssessmentOut(BaseModel):
    year: int
    banks: list[BankFiguresOut]
    products: list[BankFiguresOut]
    weights: dict[str, float]
