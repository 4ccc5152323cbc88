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


class YearStatsOut(BaseModel):
    """One year of a system's list statistics (kechuang.lists.stats)."""

    year: int
    run_id: int
    system_version: str
    published: bool
    participants: int
    vetoed: int
    listed: int
    mean_points: float | None
    growth: float | None
    panel: int
    version_changed: bool
    with_rd_institution: int
    with_rd_expense: int
    with_cooperation: int
    share_rd_institution: float | None
    share_rd_expense: float | None
    share_cooperation: float | None


class StatsOut(BaseModel):
    """Year-on-year statistics of a system's runs: participants, shares with R&D and
    cooperation, growth of points over the panel of enterprises scored in both years."""

    system_id: str
    system_name: str
    region_code: str | None
    published_only: bool
    participations: int
    enterprises: int
    avg_growth: float | None
    growth_pairs: int
    cooperation_proxy: str
    years: list[YearStatsOut]
