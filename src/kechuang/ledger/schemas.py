"""Ledger rules (YAML, loaded by :mod:`kechuang.kit.rules`) and the shapes the service, the
pages and the API return."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules as rulefiles

RULES_PATH = Path(__file__).parent / "rules.yaml"
CASES_PATH = Path(__file__).parent / "rules_cases.yaml"

EntryType = Literal["payment", "receipt", "reversal"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KindRule(Strict):
    entry: Literal["payment", "receipt"]
    zh: str
    en: str
    roles: list[str] = Field(min_length=1)


class LedgerRules(rulefiles.RuleHeader):
    kinds: dict[str, KindRule]
    open_budget_roles: list[str] = Field(min_length=1)
    reverse_roles: list[str] = Field(min_length=1)
    decimal_places: int = Field(ge=0, le=6)
    max_amount: Decimal = Field(gt=0)


@cache
def rules() -> LedgerRules:
    return rulefiles.load(RULES_PATH, LedgerRules)


# --------------------------------------------------------------------------- cases file
class CaseEntry(Strict):
    type: EntryType
    kind: str | None = None
    amount: str | None = None
    of: int | None = None  # for a reversal: index of the entry it reverses
    error: str | None = None  # a fragment of the Chinese error expected


class RuleCase(Strict):
    name: str
    budget: str
    entries: list[CaseEntry]
    remaining: str


class RuleCases(Strict):
    cases: list[RuleCase] = Field(min_length=1)


# --------------------------------------------------------------------------- outputs
class BudgetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    title: str
    region_code: str
    year: int
    amount: Decimal
    source: str
    actor: str
    created_at: datetime


class BudgetRow(BudgetOut):
    """A budget with what has been paid and what is left (pages and API lists)."""

    paid: Decimal
    received: Decimal
    reversed: Decimal
    remaining: Decimal
    entries: int


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    budget_id: int
    budget_key: str
    entry_type: EntryType
    kind: str
    payee_type: str | None
    payee_id: int | None
    payee_name: str
    amount: Decimal
    delta: Decimal
    balance_after: Decimal
    decision_ref: str
    idempotency_key: str
    reverses_id: int | None
    memo: str
    actor: str
    created_at: datetime
    #: true when this call found an earlier entry with the same idempotency key
    replayed: bool = False


class EntryPage(BaseModel):
    total: int
    offset: int
    limit: int
    entries: list[EntryOut]


class ReconRow(BaseModel):
    """One budget's reconciliation for one year (Asia/Shanghai calendar year)."""

    budget_id: int
    key: str
    title: str
    region_code: str
    budget_year: int
    budget_amount: Decimal
    #: what was left at the start of the year (the budget when it opened within the year)
    opening: Decimal
    paid: Decimal
    received: Decimal
    #: reversals of payments (money back into the budget)
    reversed_payments: Decimal
    #: reversals of receipts (money out of the budget again)
    reversed_receipts: Decimal
    #: opening − paid + received + reversed_payments − reversed_receipts
    closing: Decimal
    #: the running balance written on the last entry up to the year's end
    ledger_balance: Decimal
    entries: int
    balanced: bool


class Reconciliation(BaseModel):
    year: int
    budget_key: str | None
    rows: list[ReconRow]
    totals: ReconRow | None
    balanced: bool


class PayIn(BaseModel):
    """A payment request at the edge (API/CLI); amounts arrive as text and are checked by
    :func:`kechuang.ledger.engine.parse_amount`."""

    model_config = ConfigDict(extra="forbid")

    budget_key: str = Field(min_length=1, max_length=120)
    kind: str = Field(min_length=1, max_length=24)
    payee_type: str = Field(min_length=1, max_length=16)
    payee_id: int | None = Field(None, ge=1, le=2**31 - 1)
    payee_name: str = Field(min_length=1, max_length=200)
    amount: str = Field(min_length=1, max_length=40)
    decision_ref: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=200)
    memo: str = Field("", max_length=2000)


class ReceiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget_key: str = Field(min_length=1, max_length=120)
    kind: str = Field("recovery", min_length=1, max_length=24)
    amount: str = Field(min_length=1, max_length=40)
    decision_ref: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=200)
    memo: str = Field("", max_length=2000)


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: int = Field(ge=1, le=2**62)
    reason: str = Field(min_length=1, max_length=2000)
    idempotency_key: str = Field(min_length=1, max_length=200)


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=3, max_length=120)
    title: str = Field(min_length=1, max_length=200)
    region_code: str = Field(min_length=2, max_length=12)
    year: int = Field(ge=1990, le=2100)
    amount: str = Field(min_length=1, max_length=40)
    source: str = Field(min_length=1, max_length=400)


class DividendRunOut(BaseModel):
    list_run_id: int
    budget_key: str
    paid: int
    replayed: int
    total: Decimal
    remaining: Decimal


class PaymentItem(BaseModel):
    """One payment of a batch (:func:`kechuang.ledger.service.do_pay_batch`)."""

    model_config = ConfigDict(frozen=True)

    payee_type: str
    payee_id: int | None
    payee_name: str
    amount: Decimal
    idempotency_key: str
    memo: str = ""


class BatchOut(BaseModel):
    budget_key: str
    posted: int
    replayed: int
    total_posted: Decimal
    remaining: Decimal
