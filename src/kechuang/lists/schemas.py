"""JSON shapes of the lists API (/api/v1/lists…)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class RunOut(BaseModel):
    id: int
    system_id: str
    system_name: str
    system_version: str
    year: int
    region_code: str | None
    published: bool
    published_at: datetime | None
    current: bool


class ListEntryOut(BaseModel):
    stage: str | None
    tier: str
    place: int
    name: str
    uscc: str | None = None  # bureau only
    industry: str | None
    region: str | None
    points: float
    robust: bool | None  # None: no robustness analysis of the run


class ListOut(BaseModel):
    run: RunOut
    entries: list[ListEntryOut]


class PaymentOut(BaseModel):
    uscc: str
    name: str
    points: float
    list_rank: int | None
    stage: str | None
    tier: str | None
    rule: str
    amount: Decimal


class PaymentListOut(BaseModel):
    run_id: int
    scheme_id: str
    scheme_sha256: str
    budget: Decimal | None
    total: Decimal
    unallocated: Decimal | None
    eligible: int
    payments: list[PaymentOut]
