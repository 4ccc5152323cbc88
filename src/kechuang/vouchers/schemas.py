"""Voucher parameters (dated YAML via :mod:`kechuang.kit.rules`) and the shapes the service,
the pages and the API return."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules as rulefiles

RULES_PATH = Path(__file__).parent / "rules.yaml"
CASES_PATH = Path(__file__).parent / "rules_cases.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(Strict):
    zh: str
    en: str


class DatedDays(rulefiles.DatedValue):
    value: int = Field(ge=1, le=3660)


class DatedShare(rulefiles.DatedValue):
    value: Decimal = Field(gt=0, le=1)


class DatedMoney(rulefiles.DatedValue):
    value: Decimal = Field(ge=0)


class VoucherRules(rulefiles.RuleHeader):
    policy: str
    eligible_verdicts: list[str] = Field(min_length=1)
    amount_parameter: str
    amount_unit_yuan: int = Field(ge=1)
    validity_days: list[DatedDays] = Field(min_length=1)
    cover_share: list[DatedShare] = Field(min_length=1)
    annual_budget: list[DatedMoney] = Field(min_length=1)
    categories: dict[str, Label] = Field(min_length=1)


@cache
def rules() -> VoucherRules:
    return rulefiles.load(RULES_PATH, VoucherRules)


class RedemptionCase(Strict):
    name: str
    invoice: str
    share: str
    face: str
    amount: str


class ParameterCase(Strict):
    name: str
    date: date
    validity_days: int
    cover_share: str
    annual_budget: str


class VoucherCases(Strict):
    redemption: list[RedemptionCase] = Field(min_length=1)
    parameters: list[ParameterCase] = Field(min_length=1)


class Parameters(BaseModel):
    """The parameters in force on one date."""

    on: date
    validity_days: int
    cover_share: Decimal
    annual_budget: Decimal


# --------------------------------------------------------------------------- outputs
class ProviderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    region_code: str
    kind: Literal["institute", "enterprise"]
    institute_id: int | None
    enterprise_id: int | None
    name: str
    contact: str
    active: bool
    services: int = 0
    redeemed: Decimal = Decimal(0)
    unsettled: Decimal = Decimal(0)


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    category: str
    name: str
    description: str
    active: bool


class VoucherOut(BaseModel):
    id: int
    code: str
    enterprise_id: int
    enterprise_name: str
    uscc: str
    region_code: str
    year: int
    budget_key: str
    amount: Decimal
    cover_share: Decimal
    issued_on: date
    valid_until: date
    #: issued (may be redeemed), redeemed, expired
    status: Literal["issued", "redeemed", "expired"]
    redeemed_amount: Decimal | None = None
    provider_name: str | None = None


class VoucherPage(BaseModel):
    total: int
    offset: int
    limit: int
    vouchers: list[VoucherOut]


class IssueOut(BaseModel):
    policy_run_id: int
    budget_key: str
    year: int
    eligible: int
    issued: int
    already: int
    amount: Decimal
    cover_share: Decimal
    valid_until: date


class RedemptionOut(BaseModel):
    id: int
    voucher_id: int
    voucher_code: str
    provider_id: int
    provider_name: str
    service_id: int | None
    invoice_no: str
    invoice_amount: Decimal
    amount: Decimal
    #: the idempotency key of its ledger payment
    payment_key: str
    #: the ledger entry, when the redemption was just made
    ledger_entry_id: int | None = None
    settlement_id: int | None
    actor: str
    redeemed_at: datetime
    replayed: bool = False


class SettlementOut(BaseModel):
    id: int
    provider_id: int
    provider_name: str
    redemptions: int
    total: Decimal
    reference: str
    actor: str
    created_at: datetime


class Summary(BaseModel):
    year: int
    budget_key: str
    budget: Decimal | None
    remaining: Decimal | None
    issued: int
    issued_value: Decimal
    redeemed: int
    redeemed_value: Decimal
    expired: int
    providers: int


# --------------------------------------------------------------------------- inputs
class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["institute", "enterprise"]
    org_id: int = Field(ge=1, le=2**31 - 1)
    contact: str = Field("", max_length=200)


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voucher_code: str = Field(min_length=1, max_length=40)
    uscc: str = Field(min_length=1, max_length=18)
    provider_id: int = Field(ge=1, le=2**31 - 1)
    service_id: int | None = Field(None, ge=1, le=2**31 - 1)
    invoice_no: str = Field(min_length=1, max_length=64)
    invoice_amount: str = Field(min_length=1, max_length=40)


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(min_length=2, max_length=12)
    year: int = Field(ge=2000, le=2100)
